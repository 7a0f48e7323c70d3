"""mask personal numbers left in the clear: provenance texts, audit details, conversation states

Phone, ID and bank card numbers written before crm_core.masking was applied centrally are masked
in every provenance table's source_text and in audit_log.details. The audit log is hash-chained
and append-only: its guard triggers are dropped for the rewrite, every hash from the first changed
entry on is recomputed, the triggers come back, and an entry records how many were redacted, so
`brokerbot audit verify` reports the chain intact. Conversation states holding a number (a lead
waiting for 确认) are forgotten; they are encrypted from now on.

Revision ID: 0011
Revises: 0010
"""
import json

import sqlalchemy as sa
from alembic import op

from crm_core.masking import masked, masked_deep, mask_personal
from crm_core.migrations.audit_v1 import GENESIS, append, audit_log, digest


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

PROVENANCE = ("clients", "approval_requests", "approval_decisions", "margin_snapshots", "positions",
              "suitability_assessments", "special_risk_warnings", "reminders", "interactions", "alerts",
              "position_reports", "alert_acknowledgements")
BATCH = 2000




def _mask_provenance(conn) -> dict[str, int]:
    counts = {}
    for name in PROVENANCE:
        table = sa.table(name, sa.column("id", sa.Integer), sa.column("source_text", sa.Text))
        changed = [{"row_id": row_id, "text": masked(text)}
                   for row_id, text in conn.execute(sa.select(table.c.id, table.c.source_text)
                                                    .where(table.c.source_text.is_not(None)))
                   if masked(text) != text]
        update = table.update().where(table.c.id == sa.bindparam("row_id")).values(source_text=sa.bindparam("text"))
        for start in range(0, len(changed), BATCH):
            conn.execute(update, changed[start:start + BATCH])
        if changed:
            counts[name] = len(changed)
    return counts


def _forget_states(conn) -> int:
    table = sa.table("conversations", sa.column("id", sa.Integer), sa.column("state", sa.JSON))
    holding = [row_id for row_id, state in conn.execute(sa.select(table.c.id, table.c.state))
               if mask_personal(json.dumps(state, ensure_ascii=False))[1]]
    if holding:
        conn.execute(table.update().where(table.c.id.in_(holding)).values(state={}))
    return len(holding)


def _guard(conn, on: bool) -> None:
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        op.execute("CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION brokerbot_audit_append_only()" if on else
                   "DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log")
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                   "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END" if on else
                   f"DROP TRIGGER IF EXISTS audit_log_no_{verb.lower()}")


def _redact_audit(conn) -> tuple[int, str | None]:
    """Masks every entry's details and re-chains from the first changed one; returns how many
    entries were masked and the last hash."""
    redacted, prev, rewriting = 0, None, False
    rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.id)).mappings().all()
    updates = []
    for stored in rows:
        row = dict(stored)
        details = masked_deep(row["details"])
        if details != row["details"]:
            redacted += 1
            rewriting = True
        if rewriting:
            row["details"], row["prev_hash"] = details, prev or GENESIS
            row["hash"] = digest(row)
            updates.append({"entry_id": row["id"], "details": row["details"], "prev_hash": row["prev_hash"],
                            "hash": row["hash"]})
        prev = row["hash"]
    if updates:
        _guard(conn, on=False)
        update = audit_log.update().where(audit_log.c.id == sa.bindparam("entry_id")).values(
            details=sa.bindparam("details"), prev_hash=sa.bindparam("prev_hash"), hash=sa.bindparam("hash"))
        for start in range(0, len(updates), BATCH):
            conn.execute(update, updates[start:start + BATCH])
        _guard(conn, on=True)
    return redacted, prev


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        # Overwrite the old row images instead of leaving them in free pages of the file.
        conn.exec_driver_sql("PRAGMA secure_delete = ON")
    rows = _mask_provenance(conn)
    states = _forget_states(conn)
    redacted, last = _redact_audit(conn)
    if redacted or rows or states:
        append(conn, action="audit.redact", last=last or GENESIS,
               details={"reason": "personal numbers masked (migration 0011)", "audit_entries": redacted,
                        "provenance_rows": rows, "conversation_states": states})


def downgrade() -> None:
    pass  # masked numbers cannot be unmasked; the schema is unchanged
