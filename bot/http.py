"""The HTTP side of `brokerbot serve` (FastAPI): platform callbacks, /healthz, the REST API."""
from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from bot.api import router as rest_api
from bot.platforms import registry
from bot.service import Service

KB = 1024
# The most bytes a request body may have, by path prefix (first match); more gets a 413 before
# the body is read. Platform callbacks are small: a WeCom message is at most 2,048 bytes of text,
# a DingTalk robot message 5,000 characters, each in a JSON or XML envelope. Slack's events and
# button payloads carry the message's text and blocks (text up to 40,000 characters), hence more.
# The REST API takes up to api_max_rows rows (50,000 by default, a few hundred bytes each).
BODY_LIMITS = (("/wecom/", 64 * KB), ("/dingtalk/", 64 * KB), ("/slack/", 512 * KB), ("/api/", 32 * KB * KB))
DEFAULT_BODY_LIMIT = 64 * KB


def body_limit(path: str) -> int:
    return next((limit for prefix, limit in BODY_LIMITS if path.startswith(prefix)), DEFAULT_BODY_LIMIT)


class LimitBodies:
    """ASGI middleware: a request body over its path's limit is answered 413 without being parsed;
    a body within it is read here and handed on (so a declared Content-Length cannot lie)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = body_limit(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > limit:
            return await JSONResponse({"error": "request body too large"}, status_code=413)(scope, receive, send)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > limit:
                return await JSONResponse({"error": "request body too large"}, status_code=413)(scope, receive, send)
        body, given = b"".join(chunks), False

        async def replay():
            nonlocal given
            if given:
                return await receive()
            given = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)


def create_app(service: Service) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI):
        service.start()
        try:
            yield
        finally:  # graceful: running jobs finish, the outbox keeps what was not sent
            service.stop()

    api = FastAPI(title="brokerbot", lifespan=lifespan)
    api.state.service = service
    api.add_middleware(LimitBodies)
    api.include_router(rest_api(service), prefix="/api/v1")
    for platform in registry.platforms():  # each platform's callbacks, when configured
        for router in platform.routers(service):
            api.include_router(router)

    @api.get("/healthz")
    def healthz():
        try:
            with service.app.db.session() as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:
            return JSONResponse({"status": "error", "database": type(exc).__name__}, status_code=503)
        return {"status": "ok", "database": "ok"}

    return api
