"""Append-only, hash-chained audit log.

Each entry's hash covers its content and the previous entry's hash, so an edited or deleted
row breaks the chain at that point (`brokerbot audit verify`). Database triggers (see the
migration) refuse UPDATE and DELETE on the table.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from crm_core.base import Base, Source, utcnow
from crm_core.masking import masked_deep
from crm_core.types import UTCDateTime

GENESIS = "0" * 64


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))  # staff login, "system" or "import"
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity: Mapped[str | None] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def _digest(entry: AuditEntry) -> str:
    body = json.dumps(
        [entry.at.isoformat(), entry.actor, entry.action, entry.entity, entry.entity_id,
         entry.details, entry.prev_hash],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _lock_chain(session: Session) -> None:
    """Serialise appenders so the chain stays linear: nobody may read the newest hash until the
    previous appender has committed.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: pysqlite opens the transaction lazily,
    at the first INSERT/UPDATE/DELETE, so a SELECT before it reads outside any lock and two
    writers read the same newest hash. A write statement that changes nothing (the table's
    UPDATE trigger fires per row, so none) makes pysqlite BEGIN and SQLite take its database
    write lock (waiting up to busy_timeout) before the newest hash is read; the lock is held
    until the caller's transaction ends. If the transaction has written already, it holds the
    lock and this is a no-op."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7042611)"))
    elif dialect == "sqlite":
        session.execute(text("UPDATE audit_log SET id = id WHERE 0"))


def record(*, session: Session, actor: str, action: str, entity: str | None = None,
           entity_id: object = None, details: dict | None = None, source: Source | None = None) -> AuditEntry:
    """Append one entry in the caller's transaction."""
    _lock_chain(session)
    last = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    payload = dict(details or {})
    if source is not None:
        payload["source"] = {k: v for k, v in vars(source).items() if v is not None}
    payload = masked_deep(payload)  # the log is kept for ever and never changes: no number in the clear
    entry = AuditEntry(at=utcnow().replace(microsecond=0), actor=actor, action=action, entity=entity,
                       entity_id=None if entity_id is None else str(entity_id),
                       details=payload, prev_hash=last or GENESIS)
    entry.hash = _digest(entry)
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class Break:
    entry_id: int
    reason: str


def verify(*, session: Session) -> tuple[int, Break | None]:
    """Walk the chain; return how many entries were checked and the first broken link."""
    prev, count = GENESIS, 0
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)).yield_per(1000):
        count += 1
        if entry.prev_hash != prev:
            return count, Break(entry.id, "previous-hash link does not match (an entry was removed or reordered)")
        if _digest(entry) != entry.hash:
            return count, Break(entry.id, "content does not match its hash (the entry was altered)")
        prev = entry.hash
    return count, None
