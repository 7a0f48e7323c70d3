"""The HTTP side of `brokerbot serve` (FastAPI): platform callbacks, /healthz, the REST API."""
from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from bot.api import router as rest_api
from bot.platforms import registry
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
