"""A fake OpenAI-compatible endpoint: real HTTP on 127.0.0.1 (a free port, a thread), speaking
POST /v1/chat/completions as the OpenAI API does, including its error bodies and headers.

Each test scripts what it answers (`fake.answer(...)`, per substring of the user message, or
`fake.default`) and reads what it was sent (`fake.requests`, every body received).
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.fakes.loopback import Loopback

PATH = "/v1/chat/completions"


@dataclass
class Answer:
    status: int = 200
    message: dict | None = None  # choices[0].message of a 200 answer
    error: dict | None = None  # the "error" object of a 4xx/5xx answer
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    raw: bytes | None = None  # a body sent as it is (not JSON)


def tool_call(name: str, arguments: dict | str) -> Answer:
    """A tool call; `arguments` as a dict (sent as a JSON string) or a raw string (may be broken)."""
    args = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    call = {"id": f"call_{uuid.uuid4().hex[:24]}", "type": "function",
            "function": {"name": name, "arguments": args}}
    return Answer(message={"role": "assistant", "content": None, "tool_calls": [call], "refusal": None})


def text_answer(content: str) -> Answer:
    return Answer(message={"role": "assistant", "content": content, "refusal": None})


def server_error() -> Answer:
    return Answer(500, error={"message": "The server had an error while processing your request. Sorry about that!",
                              "type": "server_error", "param": None, "code": None})


def rate_limited(retry_after: int = 20) -> Answer:
    return Answer(429, error={"message": "Rate limit reached for requests. Please try again in 20s.",
                              "type": "requests", "param": None, "code": "rate_limit_exceeded"},
                  headers={"retry-after": str(retry_after), "x-ratelimit-limit-requests": "60",
                           "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": f"{retry_after}s"})


def slow(seconds: float, then: Answer | None = None) -> Answer:
    answer = then or text_answer("late")
    return Answer(answer.status, answer.message, answer.error, answer.headers, seconds, answer.raw)


def _invalid(message: str, status: int = 400, code: str | None = None, param: str | None = None) -> Answer:
    return Answer(status, error={"message": message, "type": "invalid_request_error", "param": param, "code": code})


class FakeOpenAI(Loopback):
    def __init__(self, api_key: str = "sk-test-key", default: Answer | None = None):
        self.api_key = api_key
        self.default = default or text_answer("I am not sure what you mean.")
        self.scripted: list[tuple[str, Answer]] = []
        self.requests: list[dict] = []  # every JSON body received, authorised or not
        self.stopping = threading.Event()
        self._listen(_handler(self), "fake-openai")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def answer(self, contains: str, answer: Answer) -> None:
        """Answer requests whose last user message contains `contains` with `answer`."""
        self.scripted.append((contains, answer))

    def choose(self, method: str, path: str, auth: str | None, raw: bytes) -> Answer:
        if method != "POST" or path != PATH:
            return _invalid(f"Invalid URL ({method} {path})", 404)
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            return _invalid("We could not parse the JSON body of your request.")
        self.requests.append(body)
        if auth != f"Bearer {self.api_key}":
            shown = (auth or "").removeprefix("Bearer ")[:6]
            return _invalid(f"Incorrect API key provided: {shown}***.", 401, "invalid_api_key")
        if not isinstance(body, dict) or not body.get("model") or not body.get("messages"):
            return _invalid("you must provide a model parameter and messages", param="model")
        user = [m.get("content") or "" for m in body["messages"] if m.get("role") == "user"]
        for contains, answer in self.scripted:
            if user and contains in user[-1]:
                return answer
        return self.default

    def envelope(self, answer: Answer, body: dict) -> dict:
        if answer.error is not None:
            return {"error": answer.error}
        finish = "tool_calls" if answer.message.get("tool_calls") else "stop"
        return {"id": f"chatcmpl-{uuid.uuid4().hex[:29]}", "object": "chat.completion",
                "created": int(time.time()), "model": body.get("model", "fake"), "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "message": answer.message, "logprobs": None, "finish_reason": finish}],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}}



def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            answer = fake.choose(self.command, self.path, self.headers.get("Authorization"), raw)
            if answer.delay and fake.stopping.wait(answer.delay):
                return
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = {}
            payload = answer.raw if answer.raw is not None else json.dumps(
                fake.envelope(answer, body if isinstance(body, dict) else {}), ensure_ascii=False).encode()
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("x-request-id", f"req_{uuid.uuid4().hex[:16]}")
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout): as a real server would, carry on

        do_POST = do_GET = _serve

        def log_message(self, *args) -> None:
            pass

    return Handler
