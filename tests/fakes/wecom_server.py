"""A fake WeCom (企业微信) API: real HTTP on 127.0.0.1 (a free port, a thread), speaking the qyapi
protocol: gettoken, message/send (text, cards, image and file messages), message/update_template_card,
media/upload, and the group robot's webhook/send and webhook/upload_media.
Every answer is HTTP 200 with an errcode, as the real API does, except scripted HTTP 500s.

Facts emulated (developer.work.weixin.qq.com, checked 2026): an app may send one member at most
30 messages a minute and 1000 an hour, "超过部分会被丢弃不下发" (path/90454): the call still answers ok,
the message never arrives (`dropped`). A group robot takes 20 messages a minute (path/91770); more
get 45009 "api freq out of limit". A card's response_code is usable once, within 72 h (path/94888).
Time is the test's: `FakeWeCom(clock=...)` or `fake.advance(seconds)`; nothing here sleeps except
scripted timeouts.
"""
from __future__ import annotations

import json
import random
import secrets
import threading
import time
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from tests.fakes import wecom_routes
from tests.fakes.loopback import Loopback
from tests.fakes.wecom_routes import (  # the error codes live with the endpoints
    FREQ_LIMIT, INVALID_TOKEN, MISSING_TOKEN, SYSTEM_BUSY, TOKEN_EXPIRED, Delivery,  # noqa: F401
)


class ManualClock:
    def __init__(self, start: float | None = None):
        self.t = float(start if start is not None else int(time.time()))

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class FakeWeCom(Loopback):
    def __init__(self, corp_id: str = "wwfakecorp0001", secret: str = "fake-app-secret", agent_id: int = 1000002,
                 clock=None, users: set[str] | None = None, webhook_keys: set[str] | None = None,
                 token_ttl: int = 7200, per_user_minute: int = 30, per_user_hour: int = 1000,
                 webhook_minute: int = 20, timeout_delay: float = 3.0, chaos: float = 0.0,
                 chaos_kinds: tuple[str, ...] = ("http500", "busy", "timeout"), seed: int | None = None):
        self.corp_id, self.secret, self.agent_id = corp_id, secret, agent_id
        self.clock = clock or ManualClock()
        self.users = users  # None: any userid is a member
        self.webhook_keys = webhook_keys  # None: any key is a robot
        self.token_ttl, self.timeout_delay = token_ttl, timeout_delay
        # A fraction of message/send calls fail at random, each with one of chaos_kinds (fail_next).
        self.chaos, self.chaos_kinds, self.rng = chaos, chaos_kinds, random.Random(seed)
        self.per_user_minute, self.per_user_hour, self.webhook_minute = per_user_minute, per_user_hour, webhook_minute
        self.tokens: dict[str, float] = {}  # access_token -> expiry
        self.token_requests = 0
        self.requests: list[tuple[str, str]] = []  # (method, path) of every call
        self.sent: list[Delivery] = []
        self.dropped: list[Delivery] = []
        self.card_updates: list[dict] = []
        self.webhook_messages: dict[str, list[dict]] = defaultdict(list)
        self.response_codes: dict[str, float] = {}  # unused code -> issued at
        self.task_ids: set[str] = set()
        self.media: dict[str, wecom_routes.Upload] = {}  # media_id -> what was uploaded
        self.uploads: list[wecom_routes.Upload] = []
        self._user_times: dict[str, deque] = defaultdict(deque)
        self._hook_times: dict[str, deque] = defaultdict(deque)
        self._failures: list[list] = []  # [path, kind, remaining]
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self._listen(_handler(self), "fake-wecom")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def now(self) -> float:
        return self.clock()

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def expire_tokens(self) -> None:
        """Every token issued so far answers 42001 from now on."""
        with self.lock:
            for token in self.tokens:
                self.tokens[token] = min(self.tokens[token], self.now() - 1)

    def fail_next(self, kind: str, times: int = 1, path: str = "/cgi-bin/message/send") -> None:
        """The next `times` calls to `path` fail: "http500", "timeout" (silence for timeout_delay s, then
        nothing done), "late" (done, answered after timeout_delay s), "busy" (-1) or "freq" (45009)."""
        assert kind in {"http500", "timeout", "late", "busy", "freq"}, kind
        with self.lock:
            self._failures.append([path, kind, times])

    def new_response_code(self) -> str:
        """A response_code as a card click callback carries it (usable once, 72 h)."""
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.response_codes[code] = self.now()
        return code

    def received(self, user: str) -> list[dict]:
        return [d.body for d in self.sent if d.user == user]

    def count(self, path: str) -> int:
        return sum(1 for _, p in self.requests if p == path)

    def error(self, code: int, msg: str) -> dict:
        hint = f"[{int(self.now())}_{secrets.token_hex(4)}]"
        return {"errcode": code, "errmsg": f"{msg}, hint: {hint}, from ip: 127.0.0.1, "
                                           f"more info at https://open.work.weixin.qq.com/devtool/query?e={code}"}

    def _failure(self, path: str) -> str | None:
        with self.lock:
            for f in self._failures:
                if f[0] == path and f[2] > 0:
                    f[2] -= 1
                    return f[1]
            if self.chaos and path == "/cgi-bin/message/send" and self.rng.random() < self.chaos:
                return self.rng.choice(self.chaos_kinds)
        return None

    def _token_error(self, query: dict) -> dict | None:
        token = query.get("access_token")
        if not token:
            return self.error(MISSING_TOKEN, "access_token missing")
        if token not in self.tokens:
            return self.error(INVALID_TOKEN, "invalid access_token")
        if self.tokens[token] <= self.now():
            return self.error(TOKEN_EXPIRED, "access_token expired")
        return None

    def _allow(self, times: deque, limits: list[tuple[int, int]]) -> bool:
        now = self.now()
        longest = max(window for window, _ in limits)
        while times and times[0] <= now - longest:
            times.popleft()
        if any(sum(1 for t in times if t > now - window) >= limit for window, limit in limits):
            return False
        times.append(now)
        return True



def _handler(fake: FakeWeCom) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

        def _serve(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with fake.lock:
                fake.requests.append((self.command, url.path))
            status, answer = 200, None
            kind = fake._failure(url.path)
            if kind == "timeout":  # lost: no answer, nothing done
                fake.stopping.wait(fake.timeout_delay)
                return
            if kind == "late" and fake.stopping.wait(fake.timeout_delay):
                return  # done but answered after the client's timeout (unless the fake stops first)
            elif kind == "http500":
                status, answer = 500, {"errcode": -1, "errmsg": "internal server error"}
            elif kind == "busy":
                answer = fake.error(SYSTEM_BUSY, "system busy")
            elif kind == "freq":
                answer = fake.error(FREQ_LIMIT, "api freq out of limit")
            if answer is None:
                route = wecom_routes.ROUTES.get((self.command, url.path))
                upload = wecom_routes.UPLOAD_ROUTES.get((self.command, url.path))
                if upload is not None:
                    with fake.lock:
                        answer = upload(fake, query, raw, self.headers.get("Content-Type") or "")
                elif route is None:
                    status, answer = 404, {"errcode": 404, "errmsg": f"no such api {url.path}"}
                else:
                    with fake.lock:
                        answer = route(fake, query, raw)
            payload = json.dumps(answer, ensure_ascii=False).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout)

        do_GET = do_POST = _serve

        def log_message(self, *args) -> None:
            pass

    return Handler
