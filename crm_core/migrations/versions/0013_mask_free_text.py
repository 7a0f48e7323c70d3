"""mask personal numbers in free text: visit notes, reminders, acknowledgements, approvals, leads

Phone, ID and bank card numbers people typed into free text were stored as typed. They are
masked in interactions.summary, reminders.content, alerts.ack_comment,
alert_acknowledgements.comment, approval_requests.details and .comment,
approval_decisions.comment and clients.interest / lead_source. A reminder's words are delivered
to the manager who wrote them, so its original is kept encrypted in the new
reminders.content_sealed (this needs the database's secret key, which `brokerbot db upgrade`
hands over). An audit entry says how many rows were masked.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import context, op

from crm_core.masking import masked, masked_deep, store_text
from crm_core.migrations.audit_v1 import append


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# (table, column, JSON?) whose values are masked in place.
FREE_TEXT = (("interactions", "summary", False), ("alerts", "ack_comment", False),
             ("alert_acknowledgements", "comment", False), ("approval_requests", "comment", False),
             ("approval_requests", "details", True), ("approval_decisions", "comment", False),
             ("clients", "interest", False), ("clients", "lead_source", False))
BATCH = 2000




def _update(conn, table, changed: list[dict]) -> None:
    update = table.update().where(table.c.id == sa.bindparam("row_id"))
    names = [key for key in changed[0] if key != "row_id"]
    update = update.values(**{name: sa.bindparam("new_" + name) for name in names})
    rows = [{"row_id": row["row_id"], **{"new_" + name: row[name] for name in names}} for row in changed]
    for start in range(0, len(rows), BATCH):
        conn.execute(update, rows[start:start + BATCH])


def _mask_columns(conn) -> dict[str, int]:
    counts = {}
    for name, column, is_json in FREE_TEXT:
        table = sa.table(name, sa.column("id", sa.Integer), sa.column(column, sa.JSON if is_json else sa.Text))
        mask = masked_deep if is_json else masked
        changed = [{"row_id": row_id, column: mask(value)}
                   for row_id, value in conn.execute(sa.select(table.c.id, table.c[column])
                                                     .where(table.c[column].is_not(None)))
                   if mask(value) != value]
        if changed:
            _update(conn, table, changed)
            counts[f"{name}.{column}"] = len(changed)
    return counts


def _cipher(conn):
    """The database's cipher, handed over by crm_core.db; refused if it is not the database's key."""
    cipher = context.config.attributes.get("cipher")
    if cipher is None:
        raise RuntimeError("migration 0013 encrypts reminders' words and needs the secret key: "
                           "run `brokerbot db upgrade`")
    meta = sa.table("brokerbot_meta", sa.column("key", sa.String), sa.column("value", sa.String))
    known = conn.scalar(sa.select(meta.c.value).where(meta.c.key == "secret_key_fingerprint"))
    if known is not None and known != cipher.fingerprint:
        raise RuntimeError("BROKERBOT_SECRET_KEY differs from the key this database's personal data was "
                           "encrypted with; set the original key")
    return cipher


def _seal_reminders(conn) -> int:
    table = sa.table("reminders", sa.column("id", sa.Integer), sa.column("content", sa.Text),
                     sa.column("content_sealed", sa.Text))
    holding = [(row_id, content) for row_id, content in conn.execute(sa.select(table.c.id, table.c.content))
               if content and masked(content) != content]
    if not holding:
        return 0
    cipher = _cipher(conn)
    changed = []
    for row_id, content in holding:
        shown, sealed = store_text(cipher, content)
        changed.append({"row_id": row_id, "content": shown, "content_sealed": sealed})
    _update(conn, table, changed)
    return len(changed)


def upgrade() -> None:
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_sealed', sa.Text(), nullable=True))
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        # Overwrite the old row images instead of leaving them in free pages of the file.
        conn.exec_driver_sql("PRAGMA secure_delete = ON")
    counts = _mask_columns(conn)
    reminders = _seal_reminders(conn)
    if reminders:
        counts["reminders.content"] = reminders
    if counts:
        append(conn, action="data.redact",
               details={"reason": "personal numbers in free text masked (migration 0013)", "rows": counts})


def downgrade() -> None:
    # Masked numbers cannot be unmasked; the encrypted reminder words go with their column.
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_column('content_sealed')
