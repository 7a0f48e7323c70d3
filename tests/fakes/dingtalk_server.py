"""A fake DingTalk: the OpenAPI (api.dingtalk.com) and the robot webhooks (oapi.dingtalk.com) on one
loopback port. Point BROKERBOT_DINGTALK_API_BASE and the SDK's DINGTALK_OPENAPI_ENDPOINT at `base_url`.

Error shapes were seen on the real servers by unauthenticated probes (2026-09-11, published in a
public repository's probe log) and in DingTalk's docs:
- POST /v1.0/oauth2/accessToken, wrong key or secret: HTTP 400
  {"requestid", "code": "invalidClientIdOrSecret", "message": "无效的clientId或者clientSecret"};
- /v1.0/* with a bad or expired x-acs-dingtalk-access-token: HTTP 400 (not 401)
  {"code": "InvalidAuthentication", "message": "不合法的access_token"}; no header at all:
  "AuthenticationFailed.MissingParameter". Callers should key on `code`, not on the status.
- /robot/send answers HTTP 200 with errcode: 300005 "token is not exist"; 310000 "sign not match" or
  "invalid timestamp" (docs' 安全设置 FAQ); throttling after 20 messages a minute (docs: then 10 minutes)
  is 660026 "sending too many messages per minute" on the live server; older docs list 130101
  "send too fast, exceed 20 times per minute".
- /robot/sendBySession after sessionWebhookExpiredTime: not documented; the only example found is
  300001 "sessionWebhook过期" (third-party code), so that is what this fake says (unverified).
- throttling and outages of /v1.0/*: no authoritative sample found; tests script them with
  `fail_next` (Alibaba-gateway style HTTP 429 {"code": "Throttling..."}, 5xx).
- POST /media/upload?access_token=..&type=image|voice|video|file (the older host, multipart part
  "media"; 上传媒体文件): images jpg/gif/png/bmp, files doc/docx/xls/xlsx/ppt/pptx/zip/pdf/rar, each at
  most 20 MB; answers {"errcode": 0, "errmsg": "ok", "type", "media_id": "@...", "created_at" (ms)}.
  Its refusals use the older host's global codes, as remembered and not confirmed against a live
  server (2026): 40014 unknown access_token, 42001 expired, 40004 bad type, 40005 bad file type,
  40006 bad size, 41xxx not modelled. A robot message naming a media id that was never uploaded
  (sampleImageMsg photoURL "@...", sampleFile mediaId) gets HTTP 400 "invalidParameter.mediaId"
  from this fake; the live answer is not documented.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from tests.fakes import dingtalk_sign, multipart
from tests.fakes.loopback import Loopback

THROTTLED = {"errcode": 660026, "errmsg": "sending too many messages per minute"}
SESSION_EXPIRED = {"errcode": 300001, "errmsg": "sessionWebhook过期"}
OK = {"errcode": 0, "errmsg": "ok"}
MEDIA_MAX = 20 * 1024 * 1024
MEDIA_FILE_TYPES = {"doc", "docx", "xls", "xlsx", "ppt", "pptx", "zip", "pdf", "rar"}
MEDIA_TYPES = {"image", "voice", "video", "file"}
WEBHOOK_MAX_BYTES = 20000  # a robot message's body (460101 "message too long, exceed 20000 bytes", seen live 2020)


@dataclass
class Request:
    method: str
    path: str
    query: dict
    headers: dict
    body: dict
    status: int = 200
    response: dict | None = None


def _error(status: int, code: str, message: str) -> tuple[int, dict]:
    return status, {"requestid": str(uuid.uuid4()).upper(), "code": code, "message": message}


class FakeDingTalk(Loopback):
    def __init__(self, app_key: str = "dingfakeappkey", app_secret: str = "fake-app-secret", *,
                 robot_code: str | None = None, webhooks: dict[str, str] | None = None,
                 clock: Callable[[], float] = time.time):
        self.app_key, self.app_secret = app_key, app_secret
        self.robot_code = robot_code or app_key  # an app's robot code is its AppKey by default
        self.webhooks = dict(webhooks or {})  # custom group robots: access_token -> signing secret (SEC...)
        self.clock = clock
        self.requests: list[Request] = []
        self.token_requests = 0
        self.tokens: dict[str, float] = {}  # token -> expiry (clock seconds)
        self.robot_messages: list[dict] = []  # batchSend / groupMessages bodies, msgParam decoded
        self.cards: dict[str, dict] = {}  # outTrackId -> createAndDeliver body, cardParamMap updated by PUT
        self.card_updates: list[dict] = []
        self.sessions: dict[str, float] = {}  # session -> expiry (clock seconds)
        self.session_messages: list[dict] = []
        self.webhook_messages: list[dict] = []
        self.webhook_sends: dict[str, list[float]] = {}  # access_token -> accepted send times
        self.throttled_until: dict[str, float] = {}
        self.webhook_limit, self.webhook_window, self.webhook_penalty = 20, 60.0, 600.0
        self.media: dict[str, dict] = {}  # media_id -> {type, filename, content_type, data, at}
        self.uploads: list[dict] = []
        self.gateway = None  # a StreamGateway answers /v1.0/gateway/connections/open when attached
        self.scripted: dict[str, list[tuple[int, dict, dict]]] = {}  # path -> answers given before the real one
        self._lock = threading.Lock()
        self._listen(_handler(self), "fake-dingtalk")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def expire_tokens(self) -> None:
        self.tokens = dict.fromkeys(self.tokens, 0.0)

    def new_session(self, ttl_seconds: float = 5400.0) -> tuple[str, int]:
        """A sessionWebhook URL and its sessionWebhookExpiredTime (ms), as a callback carries them."""
        session = uuid.uuid4().hex
        self.sessions[session] = self.clock() + ttl_seconds
        return f"{self.base_url}/robot/sendBySession?session={session}", int(self.sessions[session] * 1000)

    def bot_message(self, text: str, *, sender_staff_id: str = "manager001", ttl_seconds: float = 5400.0,
                    **fields) -> dict:
        """A robot message callback body whose sessionWebhook points at this fake."""
        url, expires = self.new_session(ttl_seconds)
        return dingtalk_sign.bot_message(text=text, sender_staff_id=sender_staff_id, session_webhook=url,
                                         session_webhook_expired_time=expires, robot_code=self.robot_code,
                                         create_at=self.now_ms(), **fields)

    def fail_next(self, path: str, status: int, answer: dict, headers: dict | None = None) -> None:
        """The next call to `path` gets this answer (and extra response headers) instead."""
        self.scripted.setdefault(path, []).append((status, answer, headers or {}))

    # -- routing -----------------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict, headers: dict, body: dict, raw: bytes = b"") -> tuple:
        if self.scripted.get(path):
            return self.scripted[path].pop(0)
        if path == "/media/upload" and method == "POST":
            return self._media_upload(query, headers, raw)
        if path == "/v1.0/oauth2/accessToken" and method == "POST":
            return self._access_token(body)
        if path == "/v1.0/gateway/connections/open" and method == "POST" and self.gateway is not None:
            return self.gateway.open_connection(body)
        if path == "/robot/send":
            return self._webhook(query, body)
        if path == "/robot/sendBySession":
            return self._session(query, body)
        if path.startswith("/v1.0/"):
            token = headers.get("x-acs-dingtalk-access-token")
            if not token:
                return _error(400, "AuthenticationFailed.MissingParameter", "缺少参数：x-acs-dingtalk-access-token")
            if self.tokens.get(token, 0.0) <= self.clock():
                return _error(400, "InvalidAuthentication", "不合法的access_token")
            route = {("POST", "/v1.0/robot/oToMessages/batchSend"): self._batch_send,
                     ("POST", "/v1.0/robot/groupMessages/send"): self._group_send,
                     ("POST", "/v1.0/card/instances/createAndDeliver"): self._create_card,
                     ("PUT", "/v1.0/card/instances"): self._update_card}.get((method, path))
            if route:
                return route(body)
        return _error(404, "ApiNotFound", f"api not found: {method} {path}")

    def _access_token(self, body: dict) -> tuple[int, dict]:
        self.token_requests += 1
        if body.get("appKey") != self.app_key or body.get("appSecret") != self.app_secret:
            return _error(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
        token = uuid.uuid4().hex
        self.tokens[token] = self.clock() + 7200
        return 200, {"accessToken": token, "expireIn": 7200}

    def _media_upload(self, query: dict, headers: dict, raw: bytes) -> tuple[int, dict]:
        token = query.get("access_token", "")
        if token not in self.tokens:
            return 200, {"errcode": 40014, "errmsg": "不合法的access_token"}
        if self.tokens[token] <= self.clock():
            return 200, {"errcode": 42001, "errmsg": "access_token已过期"}
        kind = query.get("type")
        if kind not in MEDIA_TYPES:
            return 200, {"errcode": 40004, "errmsg": "不合法的媒体文件类型"}
        part = multipart.field(multipart.parse(headers.get("content-type", ""), raw), "media")
        if part is None or not part.data:
            return 200, {"errcode": 40006, "errmsg": "不合法的文件大小"}
        extension = (part.filename or "").rpartition(".")[2].lower()
        if kind == "image" and multipart.image_format(part.data) is None:
            return 200, {"errcode": 40005, "errmsg": "不合法的文件类型"}
        if kind == "file" and extension not in MEDIA_FILE_TYPES:
            return 200, {"errcode": 40005, "errmsg": "不合法的文件类型"}
        if len(part.data) > MEDIA_MAX:
            return 200, {"errcode": 40006, "errmsg": "不合法的文件大小"}
        media_id = "@lA" + uuid.uuid4().hex
        upload = {"media_id": media_id, "type": kind, "filename": part.filename, "content_type": part.content_type,
                  "data": part.data, "at": self.clock()}
        self.media[media_id] = upload
        self.uploads.append(upload)
        return 200, {"errcode": 0, "errmsg": "ok", "type": kind, "media_id": media_id, "created_at": self.now_ms()}

    def _media_error(self, key: str, param: dict) -> tuple[int, dict] | None:
        if key == "sampleImageMsg":
            photo = str(param.get("photoURL") or "")
            if photo.startswith(("http://", "https://")) or photo in self.media:
                return None
            return _error(400, "invalidParameter.mediaId", f"photoURL 不是有效的图片地址或mediaId: {photo}")
        if key == "sampleFile":
            upload = self.media.get(str(param.get("mediaId") or ""))
            if upload is None or upload["type"] != "file" or not param.get("fileName") or not param.get("fileType"):
                return _error(400, "invalidParameter.mediaId", "mediaId/fileName/fileType 不合法")
        return None

    def _robot_message(self, body: dict, target: str) -> tuple[int, dict]:
        if body.get("robotCode") != self.robot_code:
            return _error(400, "invalidParameter.robotCode.notExist", "robotCode不存在")
        if not body.get(target) or not body.get("msgKey") or not isinstance(body.get("msgParam"), str):
            return _error(400, "MissingParameter", f"缺少参数 {target}/msgKey/msgParam")
        if (err := self._media_error(body["msgKey"], json.loads(body["msgParam"]))) is not None:
            return err
        self.robot_messages.append({**body, "msgParam": json.loads(body["msgParam"])})
        return 200, {"processQueryKey": uuid.uuid4().hex, "invalidStaffIdList": [], "flowControlledStaffIdList": []}

    def _batch_send(self, body: dict) -> tuple[int, dict]:
        return self._robot_message(body, "userIds")

    def _group_send(self, body: dict) -> tuple[int, dict]:
        return self._robot_message(body, "openConversationId")

    def _create_card(self, body: dict) -> tuple[int, dict]:
        track = body.get("outTrackId")
        if not track or not body.get("cardTemplateId") or not body.get("openSpaceId"):
            return _error(400, "MissingParameter", "缺少参数 outTrackId/cardTemplateId/openSpaceId")
        self.cards[track] = body
        space_type, _, space_id = body["openSpaceId"].removeprefix("dtv1.card//").partition(".")
        return 200, {"success": True, "result": {"outTrackId": track, "deliverResults": [
            {"spaceType": space_type, "spaceId": space_id, "success": True, "carrierId": uuid.uuid4().hex}]}}

    def _update_card(self, body: dict) -> tuple[int, dict]:
        card = self.cards.get(body.get("outTrackId"))
        if card is None:
            return _error(400, "cardInstance.notExist", "卡片实例不存在")
        card.setdefault("cardData", {}).setdefault("cardParamMap", {}).update(
            (body.get("cardData") or {}).get("cardParamMap") or {})
        self.card_updates.append(body)
        return 200, {"success": True, "result": True}

    def _session(self, query: dict, body: dict) -> tuple[int, dict]:
        expiry = self.sessions.get(query.get("session", ""))
        if expiry is None or expiry <= self.clock():
            return 200, SESSION_EXPIRED
        self.session_messages.append({**body, "session": query["session"]})
        return 200, OK

    def _webhook(self, query: dict, body: dict) -> tuple[int, dict]:
        token = query.get("access_token", "")
        if token not in self.webhooks:
            return 200, {"errcode": 300005, "errmsg": "token is not exist"}
        secret, ts = self.webhooks[token], query.get("timestamp")
        if not ts or not ts.isdigit() or abs(self.now_ms() - int(ts)) > dingtalk_sign.ONE_HOUR_MS:
            return 200, {"errcode": 310000, "errmsg": "invalid timestamp"}
        if not dingtalk_sign.valid(secret, ts, query.get("sign"), self.now_ms()):
            return 200, {"errcode": 310000, "errmsg": "sign not match"}
        if len(json.dumps(body, ensure_ascii=False).encode()) > WEBHOOK_MAX_BYTES:
            return 200, {"errcode": 460101, "errmsg": f"message too long, exceed {WEBHOOK_MAX_BYTES} bytes"}
        now = self.clock()
        if self.throttled_until.get(token, 0.0) > now:
            return 200, THROTTLED
        sends = [t for t in self.webhook_sends.get(token, []) if t > now - self.webhook_window]
        if len(sends) >= self.webhook_limit:
            self.throttled_until[token] = now + self.webhook_penalty
            return 200, THROTTLED
        self.webhook_sends[token] = [*sends, now]
        self.webhook_messages.append({**body, "access_token": token})
        return 200, OK



def _handler(fake: FakeDingTalk) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}  # parse_qs undoes the sign's quoting
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = {}
            with fake._lock:
                status, answer, *extra = fake.handle(self.command, url.path, query, headers, body, raw)
                fake.requests.append(Request(self.command, url.path, query, headers, body, status, answer))
            payload = json.dumps(answer, ensure_ascii=False).encode()
            self.send_response(status)
            for name, value in (extra[0] if extra else {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_POST = do_GET = do_PUT = _serve

        def log_message(self, *args) -> None:
            pass

    return Handler
