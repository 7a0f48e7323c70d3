"""Append-only, hash-chained audit log with keyed hashes and signed checkpoints.

Each entry's hash covers its content and the previous entry's hash, so an edited or deleted
row breaks the chain at that point (`brokerbot audit verify`). Database triggers (see the
migrations) refuse UPDATE and DELETE on the table, and TRUNCATE on PostgreSQL.

Hash versions (`hash_version`):
  1  plain SHA-256 (entries written before migration 0014; crm_core.migrations.audit_v1). Kept
     as they are: migration 0014 re-keys nothing, it records the last such entry's id in
     brokerbot_meta ("audit_unkeyed_through") and every later entry must be version 2.
  2  HMAC-SHA256 with a key derived from BROKERBOT_SECRET_KEY (crm_core.crypto, label "brokerbot
     audit chain"): without the key nobody can edit an entry and recompute the hashes after it.

Checkpoints (table audit_checkpoints, written daily by the service and by `brokerbot audit
checkpoint`) sign (sequence, head hash, time) with the same key. `verify` requires every
checkpointed entry to be present with the checkpointed hash, so deleting the newest entries or
rewriting the chain (even the unkeyed part) is detected; a copy of a checkpoint kept outside the
database (`--anchor SEQ:HASH`, the daily message to the compliance channel) catches a rewrite by
someone who holds the key and the database.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, Integer, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from crm_core.base import Base, Source, utcnow
from crm_core.db import Meta, cipher_of
from crm_core.masking import masked_deep
from crm_core.types import UTCDateTime

GENESIS = "0" * 64
KEYED = 2  # the hash version new entries get
UNKEYED_THROUGH = "audit_unkeyed_through"  # brokerbot_meta: the last id written with plain hashes


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
    hash_version: Mapped[int] = mapped_column(Integer, server_default="1")


class AuditCheckpoint(Base):
    """A signed statement "the chain had `seq` as its newest entry, with `head_hash`, at `at`"."""
    __tablename__ = "audit_checkpoints"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    seq: Mapped[int] = mapped_column(Integer)  # the newest audit entry's id (0: the log was empty)
    head_hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))

    @property
    def anchor(self) -> str:
        """What to keep elsewhere and give back to `brokerbot audit verify --anchor`."""
        return f"{self.seq}:{self.head_hash}"


def _body(entry: AuditEntry) -> bytes:
    return json.dumps(
        [entry.at.isoformat(), entry.actor, entry.action, entry.entity, entry.entity_id,
         entry.details, entry.prev_hash],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


def _digest(entry: AuditEntry, key: bytes) -> str | None:
    """The entry's hash by its version (None: a version this code does not know)."""
    if entry.hash_version == 1:
        return hashlib.sha256(_body(entry)).hexdigest()
    if entry.hash_version == KEYED:
        return hmac.new(key, b"brokerbot audit v2\n" + _body(entry), hashlib.sha256).hexdigest()
    return None


def _checkpoint_mac(key: bytes, seq: int, head_hash: str, at: datetime) -> str:
    message = f"brokerbot audit checkpoint\n{seq}\n{head_hash}\n{at.isoformat()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


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
                       details=payload, prev_hash=last or GENESIS, hash_version=KEYED)
    entry.hash = _digest(entry, cipher_of(session).audit_key)
    session.add(entry)
    session.flush()
    return entry


def checkpoint(*, session: Session, now: datetime | None = None) -> AuditCheckpoint:
    """Sign the chain's current head into audit_checkpoints (in the caller's transaction)."""
    newest = session.execute(select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    seq, head = (newest.id, newest.hash) if newest else (0, GENESIS)
    at = (now or utcnow()).replace(microsecond=0)
    point = AuditCheckpoint(at=at, seq=seq, head_hash=head,
                            mac=_checkpoint_mac(cipher_of(session).audit_key, seq, head, at))
    session.add(point)
    session.flush()
    return point


def newest_checkpoint(*, session: Session) -> AuditCheckpoint | None:
    return session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1))


@dataclass(frozen=True)
class Break:
    entry_id: int
    reason: str


class BadAnchor(ValueError):
    """An --anchor that is not SEQ:HASH."""


def parse_anchor(value: str) -> tuple[int, str]:
    seq, sep, head = value.strip().partition(":")
    if not sep or not seq.isdigit() or len(head) != 64 or any(c not in "0123456789abcdef" for c in head.lower()):
        raise BadAnchor(f"{value!r} is not SEQ:HASH (an entry number, a colon and 64 hex digits)")
    return int(seq), head.lower()


def verify(*, session: Session, anchor: tuple[int, str] | None = None) -> tuple[int, Break | None]:
    """Walk the chain; return how many entries were checked and the first problem: a broken link,
    an entry whose hash does not match, a checkpoint that is forged or no longer matches the
    chain (tail deleted, chain rewritten), or an `anchor` (seq, head hash) that does not match."""
    key = cipher_of(session).audit_key
    meta = session.get(Meta, UNKEYED_THROUGH)
    unkeyed_through = int(meta.value) if meta is not None else None
    points = list(session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)))
    for point in points:
        if not hmac.compare_digest(point.mac, _checkpoint_mac(key, point.seq, point.head_hash, point.at)):
            return 0, Break(point.seq, f"checkpoint {point.id} of {point.at:%Y-%m-%d %H:%M} UTC has a wrong "
                                       "signature (forged, or signed with another key)")
    wanted: dict[int, list[tuple[str, str]]] = {}
    for point in points:
        if point.seq:
            wanted.setdefault(point.seq, []).append(
                (point.head_hash, f"checkpoint {point.id} of {point.at:%Y-%m-%d %H:%M} UTC"))
    if anchor is not None and anchor[0]:
        wanted.setdefault(anchor[0], []).append((anchor[1], "the anchor given"))
    prev, count = GENESIS, 0
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)).yield_per(1000):
        count += 1
        if entry.prev_hash != prev:
            return count, Break(entry.id, "previous-hash link does not match (an entry was removed or reordered)")
        if entry.hash_version != KEYED and unkeyed_through is not None and entry.id > unkeyed_through:
            return count, Break(entry.id, "unkeyed hash after keyed hashes began (the entry was rewritten)")
        digest = _digest(entry, key)
        if digest is None or not hmac.compare_digest(digest, entry.hash):
            return count, Break(entry.id, "content does not match its hash (the entry was altered)")
        for head, what in wanted.pop(entry.id, ()):
            if head != entry.hash:
                return count, Break(entry.id, f"its hash differs from {what} (the chain was rewritten)")
        prev = entry.hash
    if wanted:
        seq = min(wanted)
        what = wanted[seq][0][1]
        return count, Break(seq, f"the chain ends before this entry, which {what} records "
                                 "(entries were removed from the end)")
    return count, None
