"""WeCom (企业微信) app messages: access token shared by every replica, one retry on a stale token;
a reply with choices goes out as a button card, and a clicked card is updated once.

wechatpy's client retries token errors without limit and has no default timeout (STYLE.md,
2026), so the API calls here use httpx directly with a timeout on every call; wechatpy is kept
for the callback crypto and parsing.
"""
from __future__ import annotations

import logging
import uuid
from collections import OrderedDict
from datetime import datetime, timedelta, timezone

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.base import utcnow
from crm_core.outbox import OutboxMessage
from messaging.replies import Reply, button_label
from notifiers.media import Media, attachments, send_in_parts
from notifiers.outbox import DeliveryError, enqueue
from notifiers.tokens import cached_token, store_token

log = logging.getLogger("brokerbot.wecom")

STALE_TOKEN = {40014, 42001}  # invalid / expired access_token: fetch a new one, once
TRANSIENT = {-1, 45009, 45033}  # system busy, frequency limits
# 全局错误码 40058 不合法的参数. WeCom documents no code of its own for a reused task_id or a used
# response_code (searched 2026); the fake answers 40058 for both.
INVALID_PARAMETER = 40058

# Template card limits (发送应用消息, 模板卡片消息, button_interaction; developer.work.weixin.qq.com
# document/path/90236, checked 2026). Hard: task_id only digits, letters and "_-@", at most 128
# bytes, never reused by the app; at most 6 buttons; a button key at most 1024 bytes, no two alike.
# Recommended only: main_title.title up to 36 characters, sub_title_text 160, button text 10.
# The docs give no length for update_template_card's button.replace_name: kept near a button's.
TITLE_MAX, SUBTITLE_MAX, BUTTON_MAX, REPLACE_MAX, BUTTONS_MAX, KEY_MAX_BYTES = 36, 160, 10, 16, 6, 1024
TASK_PREFIX = "card-"

# 上传临时素材 (media/upload, developer.work.weixin.qq.com document/path/90253, checked 2026): a
# multipart/form-data POST whose file part is named "media" and carries filename and content-type;
# type image (JPG or PNG, at most 10 MB), file (at most 20 MB), every file more than 5 bytes; the
# answer {"errcode": 0, "type", "media_id", "created_at"}; a media_id lives 3 days and is shared by
# every app of the corp. 40007 = invalid media_id (全局错误码), e.g. one that expired.
IMAGE_MAX, FILE_MAX, MEDIA_TTL = 10 * 1024 * 1024, 20 * 1024 * 1024, timedelta(days=3)
IMAGE_TYPES = {"image/png", "image/jpeg"}
INVALID_MEDIA_ID = 40007


class WeComError(DeliveryError):
    """WeCom answered with an errcode."""

    def __init__(self, reason: str, *, code: int):
        super().__init__(reason, transient=code in TRANSIENT)
        self.code = code


# -- cards ---------------------------------------------------------------------------------------
def new_task_id() -> str:
    return TASK_PREFIX + uuid.uuid4().hex


def cut(text: str, limit: int) -> str:
    """At most `limit` characters, whole code points, an ellipsis where text was dropped."""
    text = text.strip()
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def button_text(choice: dict) -> str:
    return cut(button_label(choice), BUTTON_MAX)


def template_card(body: dict, task_id: str) -> dict | None:
    """The button_interaction card for a body with choices, or None when a card cannot carry the whole
    message (more than 6 choices, or more text than sub_title_text holds): that goes as text, which
    lists every choice, and the person types the number."""
    choices = body.get("choices") or []
    keys = [str(c["value"]) for c in choices]
    if not 1 <= len(choices) <= BUTTONS_MAX or len(set(keys)) != len(keys) \
            or not all(0 < len(k.encode()) <= KEY_MAX_BYTES for k in keys):
        return None
    text = (body.get("text") or "").strip()
    if body.get("title"):
        head, rest = str(body["title"]).strip(), text
    else:
        head, _, rest = text.partition("\n")
    if len(head) > TITLE_MAX:  # the title is cut, so the text keeps it whole
        rest = f"{head}\n{rest}"
    rest = rest.strip()
    if len(rest) > SUBTITLE_MAX:
        return None
    card = {"card_type": "button_interaction", "task_id": task_id, "main_title": {"title": cut(head, TITLE_MAX)},
            "button_list": [{"type": 0, "text": button_text(c), "style": 1, "key": str(c["value"])}
                            for c in choices]}
    if rest:
        card["sub_title_text"] = rest
    return card


def enqueue_reply(*, session: Session, target: str, reply: Reply, now: datetime | None = None) -> OutboxMessage:
    """Queue a reply to one member. A reply with choices gets its card's task_id now, stored with the
    message, so a retry sends the same task_id and WeCom refuses a second copy of the card."""
    if not reply.choices:
        return enqueue(session=session, channel="wecom", target=target, reply=reply, now=now)
    task_id = new_task_id()
    message = enqueue(session=session, channel="wecom", target=target, reply=reply, ref=task_id, now=now)
    message.body = {**message.body, "task_id": task_id}
    return message


def find_card(*, session: Session, target: str, task_id: str) -> tuple[dict | None, bool]:
    """(the body of our card `task_id` to `target`, whether it is the newest card they were sent).
    (None, False) for a card not queued by enqueue_reply (alerts carry self-contained answers)."""
    row = session.scalar(select(OutboxMessage).where(
        OutboxMessage.channel == "wecom", OutboxMessage.target == target, OutboxMessage.purpose == "reply",
        OutboxMessage.ref == task_id))
    if row is None:
        return None, False
    newest = session.scalar(select(OutboxMessage.ref).where(
        OutboxMessage.channel == "wecom", OutboxMessage.target == target, OutboxMessage.purpose == "reply",
        OutboxMessage.ref.startswith(TASK_PREFIX, autoescape=True)).order_by(OutboxMessage.id.desc()).limit(1))
    return row.body, newest == task_id


class WeComClient:
    def __init__(self, db, *, api_base: str, corp_id: str, secret: str, agent_id: str, timeout: float = 5.0):
        self.db = db
        self.api_base = api_base.rstrip("/")
        self.corp_id, self.secret, self.agent_id = corp_id, secret, int(agent_id)
        self.key = f"wecom:{corp_id}:{agent_id}"
        self.http = httpx.Client(timeout=timeout)
        self._unanswered: OrderedDict[str, None] = OrderedDict()  # task_ids and texts whose send timed out

    # -- token ------------------------------------------------------------------------------
    def token(self, *, refresh: bool = False) -> str:
        now = utcnow()
        if not refresh and (token := cached_token(self.db, self.key, now)) is not None:
            return token
        data = self._call("GET", "/cgi-bin/gettoken", params={"corpid": self.corp_id, "corpsecret": self.secret})
        if data.get("errcode"):
            raise WeComError(f"gettoken: {data.get('errcode')} {data.get('errmsg')}", code=data["errcode"])
        expires = now + timedelta(seconds=int(data.get("expires_in", 7200)))
        store_token(self.db, self.key, data["access_token"], expires)
        log.info("new WeCom access token, valid until %s", expires.isoformat())
        return data["access_token"]

    # -- calls ------------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs) -> dict:
        try:
            response = self.http.request(method, self.api_base + path, **kwargs)
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"{path}: timed out") from exc
        except httpx.TransportError as exc:
            raise DeliveryError(f"{path}: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise DeliveryError(f"{path}: HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise DeliveryError(f"{path}: HTTP {response.status_code}, not JSON") from exc

    def api(self, path: str, payload: dict) -> dict:
        """POST with the shared token; a stale token is replaced once, never in a loop."""
        for attempt in (1, 2):
            data = self._call("POST", path, params={"access_token": self.token(refresh=attempt == 2)}, json=payload)
            code = data.get("errcode", 0)
            if code in STALE_TOKEN and attempt == 1:
                continue
            if code:
                raise WeComError(f"{path}: {code} {data.get('errmsg', '')}"[:500], code=code)
            return data
        raise AssertionError("unreachable")

    def send(self, target: str, body: dict) -> str | None:
        """notifiers.outbox.Sender: a card when the body has choices and fits one, else text; then
        each attachment as an image or file message. Parts already out (an earlier attempt) are skipped."""
        def text() -> str | None:
            card = template_card(body, body.get("task_id") or new_task_id()) if body.get("choices") else None
            return self._checked(self._send_card(target, card) if card is not None else self._send_text(target, body))

        has_text = body.get("text") or body.get("title") or body.get("choices") or not attachments(body)
        return send_in_parts(body, text if has_text else None,
                             lambda media: self._checked(self._send_media(target, media)))

    def _checked(self, data: dict) -> str | None:
        self._check_members(data)
        return data.get("msgid")

    @staticmethod
    def _check_members(data: dict) -> None:
        if data.get("invaliduser"):
            raise DeliveryError(f"not a member of the app: {data['invaliduser']}", transient=False)

    # -- images and files -------------------------------------------------------------------
    def _media_type(self, media: Media) -> str:
        """image for a JPG/PNG within 10 MB; anything else goes as a file (at most 20 MB)."""
        if media.kind == "image" and media.mime in IMAGE_TYPES and len(media.content) <= IMAGE_MAX:
            return "image"
        if len(media.content) > FILE_MAX:
            raise DeliveryError(f"{media.filename}: {len(media.content)} bytes, WeCom takes files up to "
                                f"{FILE_MAX} bytes", transient=False)
        return "file"

    def upload(self, media: Media, kind: str) -> str:
        """The media_id of this content on WeCom: the cached one while valid, else a new upload."""
        key = f"wecom:{self.corp_id}:{kind}"
        if (cached := media.cached_id(key)) is not None:
            return cached
        for attempt in (1, 2):
            data = self._call("POST", "/cgi-bin/media/upload",
                              params={"access_token": self.token(refresh=attempt == 2), "type": kind},
                              files={"media": (media.filename, media.content, media.mime)})
            code = data.get("errcode", 0)
            if code in STALE_TOKEN and attempt == 1:
                continue
            if code or not data.get("media_id"):
                raise WeComError(f"/cgi-bin/media/upload {media.filename}: {code} {data.get('errmsg', '')}"[:500],
                                 code=code or -1)
            created = int(data.get("created_at") or 0)
            start = datetime.fromtimestamp(created, tz=timezone.utc) if created else utcnow()
            media.remember(key, data["media_id"], start + MEDIA_TTL)
            return data["media_id"]
        raise AssertionError("unreachable")

    def _send_media(self, target: str, media: Media) -> dict:
        kind = self._media_type(media)
        for attempt in (1, 2):
            payload = {"touser": target, "msgtype": kind, "agentid": self.agent_id,
                       kind: {"media_id": self.upload(media, kind)}}
            try:
                return self.api("/cgi-bin/message/send", payload)
            except WeComError as exc:
                if exc.code != INVALID_MEDIA_ID or attempt == 2:
                    raise
                log.info("WeCom refused the cached media id of %s; uploading again", media.filename)
                media.forget()
        raise AssertionError("unreachable")

    def _send_text(self, target: str, body: dict) -> dict:
        text = body.get("text") or ""
        if body.get("title"):
            text = f"{body['title']}\n{text}"
        payload = {"touser": target, "msgtype": "text", "agentid": self.agent_id, "text": {"content": text}}
        # WeCom's duplicate check drops a repeat of the same content within the interval
        # (message/send docs: enable_duplicate_check, duplicate_check_interval up to 4 h, checked
        # 2026). On every send it would also swallow a person's second identical answer (the same
        # question asked twice), so it is asked for only when retrying a send that timed out and
        # may have gone through.
        key = f"{target}\n{text}"
        if key in self._unanswered:
            payload.update(enable_duplicate_check=1, duplicate_check_interval=1800)
        try:
            answer = self.api("/cgi-bin/message/send", payload)
        except DeliveryError as exc:
            if isinstance(exc.__cause__, httpx.TimeoutException):
                self._remember(key)
            raise
        self._unanswered.pop(key, None)
        return answer

    def _send_card(self, target: str, card: dict) -> dict:
        """The task_id makes a retry safe: WeCom refuses a task_id it has seen, so when an attempt
        timed out but went through, the retry is refused and counts as delivered. This memory is
        per process; a retry from another replica after a timeout ends as failed (no second card)."""
        task_id = card["task_id"]
        try:
            return self.api("/cgi-bin/message/send", {"touser": target, "msgtype": "template_card",
                                                      "agentid": self.agent_id, "template_card": card})
        except WeComError as exc:
            if exc.code == INVALID_PARAMETER and task_id in self._unanswered:
                log.info("card %s to %s was delivered by an attempt that timed out", task_id, target)
                return {}
            raise
        except DeliveryError as exc:
            if isinstance(exc.__cause__, httpx.TimeoutException):
                self._remember(task_id)
            raise

    def _remember(self, key: str) -> None:
        """A send that timed out (and may have gone through); the newest thousand are kept."""
        self._unanswered[key] = None
        while len(self._unanswered) > 1000:
            self._unanswered.popitem(last=False)

    def update_card(self, user: str, response_code: str, replace_name: str) -> bool:
        """After a click: the card's buttons become one unclickable `replace_name`. A response_code is
        good for one call within 72 h (update_template_card docs, 2026): a refusal is logged, not
        retried; a transient error is retried once. True when the card was updated."""
        payload = {"userids": [user], "agentid": self.agent_id, "response_code": response_code,
                   "button": {"replace_name": cut(replace_name, REPLACE_MAX)}}
        for attempt in (1, 2):
            try:
                self.api("/cgi-bin/message/update_template_card", payload)
                return True
            except DeliveryError as exc:
                if attempt == 2 or not exc.transient:
                    log.warning("card of %s not updated (response_code used, expired or refused): %s", user, exc)
                    return False
        return False

    def close(self) -> None:
        self.http.close()
