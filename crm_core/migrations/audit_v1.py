"""The audit log's hash chain as migrations 0011 and 0013 knew it (plain SHA-256 over the entry's
fields and the previous hash, crm_core.audit at those revisions), for migrations that rewrite or
append entries while they run. Frozen: a later change to crm_core.audit gets a module of its own."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import sqlalchemy as sa

import crm_core.types

GENESIS = "0" * 64

audit_log = sa.table(
    "audit_log", sa.column("id", sa.Integer), sa.column("at", crm_core.types.UTCDateTime()),
    sa.column("actor", sa.String), sa.column("action", sa.String), sa.column("entity", sa.String),
    sa.column("entity_id", sa.String), sa.column("details", sa.JSON), sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String))


def digest(row: dict) -> str:
    body = json.dumps([row["at"].isoformat(), row["actor"], row["action"], row["entity"], row["entity_id"],
                       row["details"], row["prev_hash"]],
                      ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def append(conn, *, action: str, details: dict, last: str | None = None) -> None:
    """Adds one system entry after `last` (default: the newest entry's hash)."""
    if last is None:
        last = conn.scalar(sa.select(audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1))
    entry = {"at": datetime.now(timezone.utc).replace(microsecond=0), "actor": "system", "action": action,
             "entity": None, "entity_id": None, "details": details, "prev_hash": last or GENESIS}
    entry["hash"] = digest(entry)
    conn.execute(audit_log.insert().values(**entry))
