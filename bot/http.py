"""The HTTP side of `brokerbot serve` (FastAPI): platform callbacks, /healthz, the REST API."""
from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from bot.api import router as rest_api
from bot.routing import configured_platforms
from bot.service import Service


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
    api.include_router(rest_api(service), prefix="/api/v1")
    s = service.app.settings
    if s.wecom_token and s.wecom_aes_key and s.wecom_corp_id:
        from bot.adapters import wecom

        api.include_router(wecom.router(service, token=s.wecom_token, aes_key=s.wecom_aes_key,
                                        corp_id=s.wecom_corp_id))

    @api.get("/healthz")
    def healthz():
        try:
            with service.app.db.session() as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:
            return JSONResponse({"status": "error", "database": type(exc).__name__}, status_code=503)
        return {"status": "ok", "database": "ok"}

    if s.dingtalk_mode == "http" and "dingtalk" in configured_platforms(s):
        api.include_router(service.dingtalk().router())

    if s.slack_bot_token and s.slack_signing_secret:
        from bot.adapters import slack

        api.include_router(slack.router(service.slack_app()))
    return api
