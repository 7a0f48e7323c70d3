"""The REST API under /api/v1 (SPEC section 5): margin snapshots and positions pushed by the
brokerage's own systems, as JSON arrays of rows in the import formats of SPEC section 4.

    POST /api/v1/snapshots            (or /api/v1/positions; ?skip_invalid=true)
    Authorization: Bearer TOKEN       (from `brokerbot token create --name NAME`)
    [{"account_no": "90012345", "timestamp": "2026-11-18T15:00:00+08:00",
      "balance": 1425363.60, "curr_margin": "751468.00"}]

Rows go through the file importers' checks and writes (`import_table`), so the rules are the
same; a reason names another row by its index ("duplicate of row 0"). JSON numbers are read as
Decimal, never as float. A batch with a bad row writes nothing (422, every bad row listed)
unless skip_invalid; the same batch again writes nothing. Written rows record platform "api",
the token's name, the request id and their index; each request with a valid token is audited
as `api.<kind>`.
"""
from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from crm_core import audit, tokens
from crm_core.importers import KINDS, ImportReport, Origin, import_table, object_table

if TYPE_CHECKING:
    from bot.service import Service

log = logging.getLogger("brokerbot.api")

ROUTES = ("snapshots", "positions")
ROW_BYTES = 2048  # a generous size of one row in JSON: a longer body is refused before it is read

TEXTS = {
    "unauthorized": "missing, unknown or revoked API token: send Authorization: Bearer TOKEN "
                    "(brokerbot token create --name NAME)",
    "too_large": "more than {limit} rows in one request; send the rows in smaller batches",
    "not_json": "the body is not JSON ({error})",
    "not_array": "the body is not a JSON array of row objects",
    "refused": "{bad} bad row(s) of {rows}; nothing written (fix them, or pass skip_invalid=true "
               "to write the good rows)",
    "conflict": "another request wrote the same rows at the same moment; send the batch again",
}


class BadRowOut(BaseModel):
    index: int  # the row's position in the posted array, from 0
    reason: str


class IngestResult(BaseModel):
    request_id: str  # also in each written row's provenance and in the audit log
    rows: int
    written: int  # created + updated
    created: int
    updated: int
    unchanged: int
    removed: int  # positions of a re-sent report that are no longer in it
    bad: int
    bad_rows: list[BadRowOut]
    ignored_fields: list[str]  # names that are not columns of this kind


class Refused(IngestResult):
    detail: str


class ApiError(BaseModel):
    detail: str


def _result(report: ImportReport, request_id: str) -> dict:
    return {"request_id": request_id, "rows": report.rows, "written": report.created + report.updated,
            "created": report.created, "updated": report.updated, "unchanged": report.unchanged,
            "removed": report.removed, "bad": len(report.bad_rows),
            "bad_rows": [{"index": bad.line, "reason": bad.reason} for bad in report.bad_rows],
            "ignored_fields": report.unknown_columns}


async def read_rows(request: Request, max_rows: int) -> list:
    """The body as a JSON array, numbers as Decimal; 413 past the row limit, 400 if not an array."""
    too_large = HTTPException(413, TEXTS["too_large"].format(limit=max_rows))
    cap = max_rows * ROW_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > cap:
            raise too_large
    try:
        items = json.loads(body, parse_float=Decimal, parse_int=Decimal, parse_constant=Decimal)
    except (ValueError, RecursionError) as exc:
        raise HTTPException(400, TEXTS["not_json"].format(error=exc)) from None
    if not isinstance(items, list):
        raise HTTPException(400, TEXTS["not_array"])
    if len(items) > max_rows:
        raise too_large
    return items


def _body_schema(kind: str, max_rows: int) -> dict:
    """The request body in /docs (the route reads the body itself, to keep numbers Decimal)."""
    module = KINDS[kind]
    value = {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}]}
    rows = {"type": "array", "maxItems": max_rows,
            "items": {"type": "object", "properties": {col: value for col in module.COLUMNS},
                      "required": list(module.REQUIRED)}}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": rows}}}}


def router(service: Service) -> APIRouter:
    db, max_rows = service.app.db, service.app.settings.api_max_rows
    bearer = HTTPBearer(auto_error=False, description="a token from `brokerbot token create --name NAME`")
    routes = APIRouter(tags=["ingest"])

    def caller(credentials: HTTPAuthorizationCredentials | None = Security(bearer)) -> str:
        """The name of the token the request carries; 401 without a live one."""
        if credentials is not None:
            with db.transaction() as session:
                token = tokens.authenticate(session=session, token=credentials.credentials)
                name = token.name if token is not None else None
            if name is not None:
                return name
        log.warning("REST API request refused: %s token", "unknown or revoked" if credentials else "no")
        raise HTTPException(401, TEXTS["unauthorized"], headers={"WWW-Authenticate": "Bearer"})

    def store(kind: str, items: list, token: str, skip_invalid: bool) -> JSONResponse | dict:
        request_id = uuid.uuid4().hex[:16]
        origin = Origin(platform="api", name=f"/api/v1/{kind}", user=token, message_id=request_id,
                        row_word="row", row_text="{name}[{line}]")
        table = object_table(items)
        for attempt in (1, 2):  # a concurrent request inserting the same rows first: the retry sees them
            try:
                with db.transaction() as session:
                    report = import_table(session=session, kind=kind, table=table, origin=origin,
                                          skip_invalid=skip_invalid)
                    audit.record(session=session, actor="api", action=f"api.{kind}",
                                 details={"applied": report.applied, "bad": len(report.bad_rows),
                                          **report.counts()}, source=origin.source())
                break
            except IntegrityError:
                log.info("REST API %s request %s collided with another write (attempt %d)", kind,
                         request_id, attempt)
        else:
            raise HTTPException(409, TEXTS["conflict"])
        result = _result(report, request_id)
        log.info("REST API %s by token %s: %s", kind, token, {k: v for k, v in result.items() if k != "bad_rows"})
        if not report.applied:
            detail = TEXTS["refused"].format(bad=len(report.bad_rows), rows=report.rows)
            return JSONResponse({"detail": detail, **result}, status_code=422)
        if report.changed:
            try:
                service.after_ingest(kind, sorted(report.changed_accounts), datetime.now(timezone.utc))
            except Exception:  # the rows are committed; the caller must not send them again
                log.exception("after_ingest failed for REST API %s request %s", kind, request_id)
        return result

    def endpoint(kind: str):
        async def ingest(request: Request, token: str = Depends(caller),
                         skip_invalid: bool = Query(False, description="write the good rows of a batch "
                                                    "with bad rows; the bad ones are still listed")):
            items = await read_rows(request, max_rows)
            return await run_in_threadpool(store, kind, items, token, skip_invalid)
        return ingest

    for kind in ROUTES:
        routes.add_api_route(
            f"/{kind}", endpoint(kind), methods=["POST"], response_model=IngestResult,
            summary=f"Write {kind} (rows with the columns of `brokerbot import {kind}`)",
            responses={400: {"model": ApiError}, 401: {"model": ApiError}, 409: {"model": ApiError},
                       413: {"model": ApiError}, 422: {"model": Refused}},
            openapi_extra=_body_schema(kind, max_rows))
    return routes
