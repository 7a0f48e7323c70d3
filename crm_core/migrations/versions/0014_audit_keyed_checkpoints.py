"""audit log as evidence: keyed hashes from here on, signed checkpoints, no TRUNCATE

New audit entries are hashed with HMAC-SHA256 under a key derived from BROKERBOT_SECRET_KEY
(hash_version 2). Existing entries keep their plain SHA-256 hashes (hash_version 1): nothing is
re-keyed, since rewriting the log would destroy the very evidence it holds. The id of the last
plain entry is recorded in brokerbot_meta ("audit_unkeyed_through"): `brokerbot audit verify`
refuses a plain hash after it. Migrations after this one that append audit entries must write
version 2 entries (crm_core.migrations.audit_v1 is for 0011 and 0013 only).

audit_checkpoints holds signed (sequence, head hash, time) statements; like audit_log it refuses
UPDATE and DELETE, and on PostgreSQL both tables refuse TRUNCATE (a statement trigger: the row
triggers of 0001 do not fire on TRUNCATE).

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa

from crm_core.types import UTCDateTime

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

GUARD_PG = """
CREATE FUNCTION brokerbot_audit_no_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION brokerbot_audit_no_truncate();
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION brokerbot_audit_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION brokerbot_audit_no_truncate();
"""


def upgrade() -> None:
    conn = op.get_bind()
    # Not batch mode: on SQLite that would copy the table and lose its append-only triggers. A
    # downgrade keeps the column (see there), so a second upgrade finds it.
    if 'hash_version' not in {c['name'] for c in sa.inspect(conn).get_columns('audit_log')}:
        op.add_column('audit_log', sa.Column('hash_version', sa.Integer(), server_default='1', nullable=False))
    op.create_table(
        'audit_checkpoints',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('head_hash', sa.String(length=64), nullable=False),
        sa.Column('mac', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoints')),
    )
    last = conn.scalar(sa.text("SELECT MAX(id) FROM audit_log")) or 0
    meta = sa.table("brokerbot_meta", sa.column("key", sa.String), sa.column("value", sa.String))
    conn.execute(meta.insert().values(key="audit_unkeyed_through", value=str(last)))
    if conn.dialect.name == "postgresql":
        op.execute(GUARD_PG)
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_checkpoints_no_{verb.lower()} BEFORE {verb} ON audit_checkpoints "
                       "BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END")


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TABLE audit_checkpoints")
        op.execute("DROP FUNCTION IF EXISTS brokerbot_audit_no_truncate()")
    else:
        op.drop_table('audit_checkpoints')
    conn.execute(sa.text("DELETE FROM brokerbot_meta WHERE key = 'audit_unkeyed_through'"))
    # Entries written since are keyed (hash_version 2): dropping the column would make them
    # unverifiable, so a downgrade keeps it.
