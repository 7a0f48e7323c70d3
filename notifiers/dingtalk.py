"""DingTalk (钉钉) robot messages: the message's sessionWebhook while it is valid, else the OpenAPI.

Facts (open.dingtalk.com docs and the dingtalk-stream SDK 0.24.3 sources, checked 2026; error shapes
in tests/fakes/dingtalk_server.py):
- every /v1.0 call carries `x-acs-dingtalk-access-token`; the token comes from
  POST /v1.0/oauth2/accessToken {appKey, appSecret} -> {accessToken, expireIn (s)}; a bad or expired
  token is HTTP 400 with code "InvalidAuthentication" (not 401), so key on `code`;
- a callback's sessionWebhook takes {"msgtype": "text", ...} until sessionWebhookExpiredTime (ms)
  and answers {"errcode": 0} (300001 once expired);
- one-to-one: POST /v1.0/robot/oToMessages/batchSend {robotCode, userIds, msgKey, msgParam (a JSON
  string)}, whose answer lists invalidStaffIdList and flowControlledStaffIdList; groups:
  POST /v1.0/robot/groupMessages/send {robotCode, openConversationId, msgKey, msgParam};
- buttons that call back need an interactive card (ActionCard buttons are only links):
  POST /v1.0/card/instances/createAndDeliver with callbackType=STREAM, updated with
  PUT /v1.0/card/instances. The template is DingTalk's public markdown-with-buttons template that
  the SDK's MarkdownButtonCardInstance uses; its buttons (`msgButtons` inside the JSON string
  `sys_full_json_obj`) call back when `request` is true and hand their `params` back in the click's
  cardPrivateData.params (third-party code seen 2026; DingTalk does not document the template).

- images and files: the app uploads with the older OpenAPI host's POST
  oapi.dingtalk.com/media/upload?access_token=..&type=image|file (multipart part "media"; the v1.0
  accessToken is accepted there, as third-party clients seen 2026 use it), answered
  {"errcode": 0, "type", "media_id": "@...", "created_at" (ms)}; images jpg/gif/png/bmp and files
  (doc, docx, xls, xlsx, ppt, pptx, zip, pdf, rar) at most 20 MB (上传媒体文件, open.dingtalk.com
  document/orgapp/upload-media-files). The robot then sends msgKey sampleImageMsg {"photoURL": media_id}
  or sampleFile {"mediaId", "fileName", "fileType"} (企业机器人发送消息的消息类型, robot-message-type).
  DingTalk does not say how long a mediaId lives; three days is assumed, as for WeCom.

Targets: a staff id (userId) for a direct chat, `group:<openConversationId>` for a group.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import timedelta

import httpx

from crm_core.base import utcnow
from messaging.replies import button_label
from notifiers.media import Media, attachments, send_in_parts
from notifiers.outbox import DeliveryError
from notifiers.tokens import cached_token, store_token

log = logging.getLogger("brokerbot.dingtalk")

GROUP = "group:"
STALE_TOKEN = {"InvalidAuthentication"}  # fetch a new token, once
SESSION_MARGIN_MS = 30_000  # a sessionWebhook this close to its expiry is not used
CARD_TEMPLATE = "1366a1eb-bc54-4859-ac88-517c56a9acb1.schema"
FLOW_CONTROL_WAIT = 60.0  # seconds; batchSend names flow-controlled users without saying how long
MEDIA_MAX, MEDIA_TTL = 20 * 1024 * 1024, timedelta(days=3)
OAPI_STALE_TOKEN = {40014, 42001}  # the older host's invalid / expired access_token


def text_of(body: dict) -> str:
    text = body.get("text") or ""
    return f"{body['title']}\n{text}" if body.get("title") else text


def card_params(body: dict, chosen: str | None = None) -> dict:
    """The template's cardParamMap: buttons for the choices, or, after a click, the choice made."""
    buttons = [] if chosen else [
        {"text": button_label(c),
         "color": "blue", "request": True, "params": {"value": c["value"]}}
        for c in body.get("choices") or []]
    markdown = body.get("text") or ""
    return {"title": body.get("title") or "", "markdown": f"{markdown}\n\n**{chosen}**" if chosen else markdown,
            "tips": "", "sys_full_json_obj": json.dumps({"msgButtons": buttons}, ensure_ascii=False)}


class DingTalkSender:
    def __init__(self, db, *, api_base: str, client_id: str, client_secret: str, robot_code: str,
                 cards: bool = True, timeout: float = 5.0, oapi_base: str | None = None):
        self.db = db
        self.api_base = api_base.rstrip("/")
        # media/upload lives on the older host; a proxy or a fake serves both on one base
        self.oapi_base = (oapi_base or self.api_base.replace("://api.dingtalk.com", "://oapi.dingtalk.com")).rstrip("/")
        self.client_id, self.client_secret, self.robot_code = client_id, client_secret, robot_code
        self.cards = cards  # card clicks arrive over Stream only (callbackType=STREAM)
        self.key = f"dingtalk:{client_id}"
        self.http = httpx.Client(timeout=timeout)

    # -- token ------------------------------------------------------------------------------
    def token(self, *, refresh: bool = False) -> str:
        now = utcnow()
        if not refresh and (token := cached_token(self.db, self.key, now)) is not None:
            return token
        status, data, headers = self._call("POST", self.api_base + "/v1.0/oauth2/accessToken",
                                           json={"appKey": self.client_id, "appSecret": self.client_secret})
        if not data.get("accessToken"):
            raise self._error("/v1.0/oauth2/accessToken", status, data, headers)
        expires = now + timedelta(seconds=int(data.get("expireIn", 7200)))
        store_token(self.db, self.key, data["accessToken"], expires)
        log.info("new DingTalk access token, valid until %s", expires.isoformat())
        return data["accessToken"]

    # -- calls ------------------------------------------------------------------------------
    def _call(self, method: str, url: str, **kwargs) -> tuple[int, dict, httpx.Headers]:
        """(status, JSON object or {}, headers); timeouts and transport errors are transient."""
        where = url.split("?")[0].removeprefix(self.api_base)
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"{where}: timed out") from exc
        except httpx.TransportError as exc:
            raise DeliveryError(f"{where}: {type(exc).__name__}") from exc
        try:
            data = response.json()
        except ValueError:
            data = None
        return response.status_code, data if isinstance(data, dict) else {}, response.headers

    @staticmethod
    def _error(path: str, status: int, data: dict, headers) -> DeliveryError:
        code = str(data.get("code") or "")
        # DingTalk documents no single throttling code for /v1.0; seen: Alibaba-gateway "Throttling.*"
        # with HTTP 429 and "Forbidden.AccessDenied.QpsLimit*" (third-party reports, 2026, unverified).
        throttled = status == 429 or code.startswith("Throttling") or "QpsLimit" in code
        retry_after = headers.get("Retry-After")
        return DeliveryError(f"{path}: HTTP {status} {code} {data.get('message', '')}"[:500],
                             transient=throttled or status >= 500,
                             retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None)

    def api(self, method: str, path: str, payload: dict) -> dict:
        """An OpenAPI call with the shared token; a stale token is replaced once, never in a loop."""
        for attempt in (1, 2):
            token = self.token(refresh=attempt == 2)
            status, data, headers = self._call(method, self.api_base + path, json=payload,
                                               headers={"x-acs-dingtalk-access-token": token})
            if status == 200 and data:
                return data
            if data.get("code") in STALE_TOKEN and attempt == 1:
                continue
            raise self._error(path, status, data, headers)
        raise AssertionError("unreachable")

    # -- sending ----------------------------------------------------------------------------
    def send(self, target: str, body: dict) -> str | None:
        """notifiers.outbox.Sender: the text, then each attachment through the robot OpenAPI.
        Parts already out (an earlier attempt) are skipped."""
        has_text = text_of(body) or body.get("choices") or not attachments(body)
        return send_in_parts(body, (lambda: self._send_text(target, body)) if has_text else None,
                             lambda media: self._send_media(target, media))

    def _send_text(self, target: str, body: dict) -> str | None:
        """A card for choices, else text (sessionWebhook, then OpenAPI)."""
        if body.get("choices") and self.cards:
            return self._card(target, body)
        webhook, expires = body.get("session_webhook"), body.get("session_webhook_expires") or 0
        if webhook and int(time.time() * 1000) + SESSION_MARGIN_MS < int(expires):
            if self._session(webhook, text_of(body)):
                return None  # a sessionWebhook answer carries no message id
        return self._robot(target, text_of(body))

    # -- images and files -------------------------------------------------------------------
    def upload(self, media: Media) -> str:
        """The mediaId of this content on DingTalk: the cached one while valid, else a new upload."""
        key = f"dingtalk:{self.client_id}:{media.kind}"
        if (cached := media.cached_id(key)) is not None:
            return cached
        if len(media.content) > MEDIA_MAX:
            raise DeliveryError(f"{media.filename}: {len(media.content)} bytes, DingTalk takes up to {MEDIA_MAX}",
                                transient=False)
        url = self.oapi_base + "/media/upload"
        for attempt in (1, 2):
            status, data, headers = self._call(
                "POST", url, params={"access_token": self.token(refresh=attempt == 2), "type": media.kind},
                files={"media": (media.filename, media.content, media.mime)})
            code = data.get("errcode")
            if code in OAPI_STALE_TOKEN and attempt == 1:
                continue
            if status == 200 and code not in (None, 0):  # -1 system busy is retried; a refusal (type, size) not
                raise DeliveryError(f"/media/upload {media.filename}: {code} {data.get('errmsg', '')}"[:500],
                                    transient=code == -1)
            if status != 200 or not data.get("media_id"):
                raise self._error("/media/upload", status, data, headers)
            media.remember(key, data["media_id"], utcnow() + MEDIA_TTL)
            return data["media_id"]
        raise AssertionError("unreachable")

    def _send_media(self, target: str, media: Media) -> str | None:
        media_id = self.upload(media)
        if media.kind == "image":
            return self._robot_message(target, "sampleImageMsg", {"photoURL": media_id})
        return self._robot_message(target, "sampleFile", {"mediaId": media_id, "fileName": media.filename,
                                                          "fileType": media.extension})

    def _session(self, url: str, text: str) -> bool:
        """True when sent; False when DingTalk refuses it (expired), so the OpenAPI takes over."""
        status, data, _ = self._call("POST", url, json={"msgtype": "text", "text": {"content": text}})
        if status == 200 and data.get("errcode") == 0:
            return True
        log.warning("sessionWebhook refused (HTTP %s, %s %s); sending through the OpenAPI", status,
                    data.get("errcode"), data.get("errmsg"))
        return False

    def _robot(self, target: str, text: str) -> str | None:
        return self._robot_message(target, "sampleText", {"content": text})

    def _robot_message(self, target: str, key: str, param: dict) -> str | None:
        message = {"robotCode": self.robot_code, "msgKey": key,
                   "msgParam": json.dumps(param, ensure_ascii=False)}
        if target.startswith(GROUP):
            data = self.api("POST", "/v1.0/robot/groupMessages/send",
                            {**message, "openConversationId": target.removeprefix(GROUP)})
            return data.get("processQueryKey")
        data = self.api("POST", "/v1.0/robot/oToMessages/batchSend", {**message, "userIds": [target]})
        if target in (data.get("invalidStaffIdList") or []):
            raise DeliveryError(f"not a user the robot can reach: {target}", transient=False)
        if target in (data.get("flowControlledStaffIdList") or []):
            raise DeliveryError(f"flow-controlled: {target}", retry_after=FLOW_CONTROL_WAIT)
        return data.get("processQueryKey")

    def _card(self, target: str, body: dict) -> str:
        # The outTrackId is fixed when the reply is queued, so a retry names the same card.
        track = body.get("card_id") or uuid.uuid4().hex
        payload = {"cardTemplateId": CARD_TEMPLATE, "outTrackId": track, "callbackType": "STREAM",
                   "cardData": {"cardParamMap": card_params(body)}, "userIdType": 1}
        if target.startswith(GROUP):
            payload.update(openSpaceId=f"dtv1.card//IM_GROUP.{target.removeprefix(GROUP)}",
                           imGroupOpenSpaceModel={"supportForward": False},
                           imGroupOpenDeliverModel={"robotCode": self.robot_code})
        else:
            payload.update(openSpaceId=f"dtv1.card//IM_ROBOT.{target}",
                           imRobotOpenSpaceModel={"supportForward": False},
                           imRobotOpenDeliverModel={"spaceType": "IM_ROBOT", "robotCode": self.robot_code})
        data = self.api("POST", "/v1.0/card/instances/createAndDeliver", payload)
        failed = [r for r in (data.get("result") or {}).get("deliverResults") or [] if not r.get("success")]
        if failed:
            # not retried: a second createAndDeliver would reuse the outTrackId
            raise DeliveryError(f"card not delivered: {failed[0].get('errorMsg') or failed[0]}"[:500],
                                transient=False)
        return track

    def update_card(self, track: str, body: dict, chosen: str) -> None:
        """After a click: the buttons go, the choice stays visible."""
        self.api("PUT", "/v1.0/card/instances", {
            "outTrackId": track, "cardData": {"cardParamMap": card_params(body, chosen)},
            "cardUpdateOptions": {"updateCardDataByKey": True}})

    def close(self) -> None:
        self.http.close()
