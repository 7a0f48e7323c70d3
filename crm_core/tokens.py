"""API tokens for the REST API (`brokerbot token create --name NAME`).

A token is 32 random bytes (URL-safe base64 after a `bbt_` prefix), shown once when it is
created. Only its SHA-256 is stored, so a copy of the database lets nobody call the API; a
lookup by hash needs no constant-time comparison. Creation and revocation are in the audit
log; each use is audited by the request it authenticates (`api.snapshots`, `api.positions`).
Never log a token, only its name.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from crm_core import audit
from crm_core.base import Base, Source, utcnow
from crm_core.types import UTCDateTime

PREFIX = "bbt_"  # makes a leaked token recognisable to secret scanners and people
NAME_LIMIT = 64


class TokenError(ValueError):
    """A token request refused; the message is one sentence for the person."""


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LIMIT), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256, hex
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(*, session: Session, name: str, source: Source | None = None,
                 now: datetime | None = None) -> str:
    """Stores a new token under `name` and returns the token itself (the only copy)."""
    name = name.strip()
    if not name or len(name) > NAME_LIMIT or not name.isprintable():
        raise TokenError(f"a token name is 1 to {NAME_LIMIT} printable characters")
    if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise TokenError(f"a token named {name!r} already exists; choose another name")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, token_hash=digest(token), created_at=now or utcnow())
    session.add(row)
    session.flush()
    audit.record(session=session, actor="api_token", action="token.create", entity="api_token",
                 entity_id=row.id, details={"name": name}, source=source)
    return token


def authenticate(*, session: Session, token: str, now: datetime | None = None) -> ApiToken | None:
    """The live token with this text, its last use set to now; None for an unknown or revoked one."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token)))
    if row is None or row.revoked_at is not None:
        return None
    row.last_used_at = now or utcnow()
    return row


def revoke_token(*, session: Session, name: str, source: Source | None = None,
                 now: datetime | None = None) -> ApiToken:
    row = session.scalar(select(ApiToken).where(ApiToken.name == name))
    if row is None:
        raise TokenError(f"no token named {name!r}")
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        audit.record(session=session, actor="api_token", action="token.revoke", entity="api_token",
                     entity_id=row.id, details={"name": name}, source=source)
    return row


def list_tokens(*, session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.name)))
