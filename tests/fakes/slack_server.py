"""A fake Slack Web API: real HTTP on 127.0.0.1 (a free port, a thread), for WebClient(base_url=fake.base_url).

Shapes follow docs.slack.dev's method pages and slack_sdk 3.47 (checked 2026): every method answers
HTTP 200 with {"ok": true, ...} or {"ok": false, "error": "..."}; a missing token is "not_authed", a
wrong one "invalid_auth"; a rate limit is HTTP 429 with Retry-After (seconds) and error "ratelimited".
chat.postMessage is a special tier, "one message per second per channel" with short bursts allowed
(docs.slack.dev/apis/web-api/rate-limits); `post_interval` enforces that strictly when set.
Every call is recorded in `fake.calls`, authorised or not.

Files (docs.slack.dev files.getUploadURLExternal / files.completeUploadExternal, slack_sdk 3.48's
files_upload_v2, checked 2026): getUploadURLExternal needs `filename` and `length` and answers
{upload_url, file_id}; the bytes are POSTed to upload_url, raw or multipart, and it answers 200;
completeUploadExternal takes `files` (a JSON array of {id, title}) and `channel_id`, and shares the
files there. This fake refuses a length that differs from the bytes received, and a file id that
was never issued or never received its bytes, with "file_not_found" (Slack documents the error
names, not these exact cases); a missing filename or length is "invalid_arguments".
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlsplit

from tests.fakes import multipart
from tests.fakes.loopback import Loopback

BOT_USER, BOT_ID, TEAM_ID = "U0FAKEBOT", "B0FAKEBOT", "T0FAKETEAM"


@dataclass
class Call:
    api: str  # "chat.postMessage"
    args: dict  # query, form and JSON arguments merged
    headers: dict
    status: int = 200
    response: dict = field(default_factory=dict)


@dataclass
class Failure:
    api: str
    error: str  # "ratelimited", "channel_not_found", "internal_error", ...
    status: int = 200
    retry_after: int | None = None
    times: int = 1


class FakeSlack(Loopback):
    def __init__(self, token: str = "xoxb-fake-bot-token", *, clock: Callable[[], float] = time.time,
                 post_interval: float | None = None):
        self.token = token
        self.clock = clock
        self.post_interval = post_interval  # seconds between posts to one channel; None: no limit
        self.calls: list[Call] = []
        self.messages: dict[tuple[str, str], dict] = {}  # (channel, ts) -> the message as stored
        self.response_url_posts: list[dict] = []
        self.unknown_channels: set[str] = set()
        self.files: dict[str, dict] = {}  # file_id -> {filename, length, data, title, channel}
        self.shared_files: list[dict] = []  # files completed into a channel, in order
        self.upload_failures: list[int] = []  # HTTP statuses the next POSTs to an upload URL answer
        self.failures: list[Failure] = []
        self._last_post: dict[str, float] = {}
        self._seq = 0
        self._lock = threading.Lock()
        self._listen(_handler(self), "fake-slack")

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def base_url(self) -> str:
        return f"{self.root}/api/"

    def response_url(self, name: str = "1") -> str:
        return f"{self.root}/actions/{TEAM_ID}/{name}"

    def fail(self, api: str, error: str, *, status: int = 200, retry_after: int | None = None, times: int = 1) -> None:
        """The next `times` calls of `api` fail; error "ratelimited" defaults to HTTP 429, Retry-After 30."""
        if error == "ratelimited":
            status, retry_after = 429, retry_after or 30
        self.failures.append(Failure(api, error, status, retry_after, times))

    def calls_to(self, api: str) -> list[Call]:
        return [c for c in self.calls if c.api == api]

    @property
    def posted(self) -> list[dict]:
        """Arguments of chat.postMessage calls that succeeded."""
        return [c.args for c in self.calls_to("chat.postMessage") if c.response.get("ok")]

    # -- the methods -------------------------------------------------------------------------------
    def handle(self, api: str, args: dict, headers: dict) -> tuple[int, dict, dict]:
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else args.get("token")
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if token != self.token:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        for failure in self.failures:
            if failure.api == api and failure.times > 0:
                failure.times -= 1
                extra = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
                return failure.status, {"ok": False, "error": failure.error}, extra
        method = {"auth.test": self._auth_test, "chat.postMessage": self._post, "chat.update": self._update,
                  "conversations.open": self._open, "files.getUploadURLExternal": self._upload_url,
                  "files.completeUploadExternal": self._complete_upload}.get(api)
        if method is None:
            return 200, {"ok": False, "error": "unknown_method", "req_method": api}, {}
        return method(args)

    def _auth_test(self, args: dict):
        return 200, {"ok": True, "url": "https://fake.slack.com/", "team": "Fake Brokerage", "user": "brokerbot",
                     "team_id": TEAM_ID, "user_id": BOT_USER, "bot_id": BOT_ID, "is_enterprise_install": False}, {}

    def _channel(self, channel: str | None) -> str | None:
        if not channel or channel in self.unknown_channels or channel[0] not in "CDGU":
            return None
        return "D" + channel[1:] if channel[0] == "U" else channel  # posting to a user id opens their DM

    def _post(self, args: dict):
        channel = self._channel(args.get("channel"))
        if channel is None:
            return 200, {"ok": False, "error": "channel_not_found"}, {}
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            return 200, {"ok": False, "error": "no_text"}, {}
        now = self.clock()
        last = self._last_post.get(channel)
        if self.post_interval and last is not None and now - last < self.post_interval:
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}
        self._last_post[channel] = now
        self._seq += 1
        ts = f"{int(now)}.{self._seq:06d}"
        message = {"type": "message", "subtype": "bot_message", "text": args.get("text", ""), "ts": ts,
                   "bot_id": BOT_ID, "user": BOT_USER, "team": TEAM_ID}
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if key in args:
                message[key] = args[key]
        self.messages[(channel, ts)] = message
        return 200, {"ok": True, "channel": channel, "ts": ts, "message": message}, {}

    def _update(self, args: dict):
        channel = self._channel(args.get("channel"))
        if channel is None:
            return 200, {"ok": False, "error": "channel_not_found"}, {}
        message = self.messages.get((channel, args.get("ts", "")))
        if message is None:
            return 200, {"ok": False, "error": "message_not_found"}, {}
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            return 200, {"ok": False, "error": "no_text"}, {}
        message.update({k: args[k] for k in ("text", "blocks", "attachments") if k in args})
        message["edited"] = {"user": BOT_USER, "ts": f"{int(self.clock())}.000000"}
        return 200, {"ok": True, "channel": channel, "ts": message["ts"], "text": message.get("text", ""),
                     "message": dict(message)}, {}

    def _upload_url(self, args: dict):
        filename, length = args.get("filename"), str(args.get("length") or "")
        if not filename or not length.isdigit():
            return 200, {"ok": False, "error": "invalid_arguments"}, {}
        self._seq += 1
        file_id = f"F{self._seq:010d}"
        self.files[file_id] = {"id": file_id, "filename": filename, "length": int(length), "data": None}
        return 200, {"ok": True, "upload_url": f"{self.root}/upload/v1/{file_id}", "file_id": file_id}, {}

    def receive_upload(self, file_id: str, raw: bytes, content_type: str) -> tuple[int, bytes]:
        if self.upload_failures:
            return self.upload_failures.pop(0), b"upload failed"
        file = self.files.get(file_id)
        if file is None:
            return 404, b"not found"
        parts = multipart.parse(content_type, raw)
        data = (parts[0].data if parts else b"") if parts is not None else raw
        file["data"] = data
        return 200, f"OK - {len(data)}".encode()

    def _complete_upload(self, args: dict):
        files = args.get("files")
        if isinstance(files, str):
            try:
                files = json.loads(files)
            except ValueError:
                files = None
        if not isinstance(files, list) or not files:
            return 200, {"ok": False, "error": "invalid_arguments"}, {}
        channel = args.get("channel_id")
        if channel and (channel in self.unknown_channels or channel[0] not in "CDG"):
            return 200, {"ok": False, "error": "channel_not_found"}, {}
        done = []
        for item in files:
            file = self.files.get(str((item or {}).get("id")))
            if file is None or file["data"] is None or len(file["data"]) != file["length"]:
                return 200, {"ok": False, "error": "file_not_found"}, {}
            done.append(file)
        for file in done:
            file.update(title=next(i.get("title") for i in files if i.get("id") == file["id"]) or file["filename"],
                        channel=channel)
            if channel:
                self.shared_files.append(file)
        return 200, {"ok": True, "files": [{"id": f["id"], "name": f["filename"], "title": f["title"],
                                            "size": f["length"]} for f in done]}, {}

    def _open(self, args: dict):
        users = args.get("users") or ""
        users = users if isinstance(users, str) else ",".join(users)
        if not users:
            return 200, {"ok": False, "error": "users_list_not_supplied"}, {}
        first = users.split(",")[0]
        if not first.startswith(("U", "W")):
            return 200, {"ok": False, "error": "user_not_found"}, {}
        return 200, {"ok": True, "channel": {"id": "D" + first[1:]}}, {}



def _arguments(query: str, raw: bytes, content_type: str) -> dict:
    args: dict = dict(parse_qsl(query))
    if raw and content_type.startswith("application/json"):
        args.update(json.loads(raw))
    elif raw:
        args.update(parse_qsl(raw.decode(), keep_blank_values=True))
    for key in ("blocks", "attachments", "metadata", "files"):  # form posts carry them as JSON strings
        if isinstance(args.get(key), str):
            try:
                args[key] = json.loads(args[key])
            except ValueError:
                pass
    return args


def _handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            url = urlsplit(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            if url.path.startswith("/actions/"):
                fake.response_url_posts.append(json.loads(raw or b"{}"))
                return self._send(200, b"ok", "text/plain", {})
            if url.path.startswith("/upload/v1/"):
                with fake._lock:
                    status, answer = fake.receive_upload(url.path.removeprefix("/upload/v1/"), raw,
                                                         headers.get("content-type", ""))
                return self._send(status, answer, "text/plain", {})
            api = url.path.removeprefix("/api/")
            try:
                args = _arguments(url.query, raw, headers.get("content-type", ""))
            except ValueError:
                args = {}
            with fake._lock:
                status, body, extra = fake.handle(api, args, headers)
                fake.calls.append(Call(api, args, headers, status, body))
            self._send(status, json.dumps(body, ensure_ascii=False).encode(), "application/json; charset=utf-8", extra)

        def _send(self, status: int, payload: bytes, content_type: str, extra: dict) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_POST = do_GET = _serve

        def log_message(self, *args) -> None:
            pass

    return Handler
