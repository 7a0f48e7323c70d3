"""position reports: an account reported flat at a moment is recorded so

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa
import crm_core.types


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('position_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('timestamp', crm_core.types.UTCDateTime(), nullable=False),
    sa.Column('basis', sa.Enum('positions', 'snapshot', name='reportbasis', native_enum=False, length=12), nullable=False),
    sa.Column('source_platform', sa.String(length=16), nullable=True),
    sa.Column('source_message_id', sa.String(length=128), nullable=True),
    sa.Column('source_user', sa.String(length=128), nullable=True),
    sa.Column('source_text', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_position_reports_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_position_reports')),
    sa.UniqueConstraint('account_id', 'timestamp', name=op.f('uq_position_reports_account_id_timestamp'))
    )
    # Every moment that has positions was a report of them.
    op.execute("""
        INSERT INTO position_reports (account_id, timestamp, basis, source_platform, source_message_id,
                                      source_user, source_text)
        SELECT account_id, timestamp, 'positions', MIN(source_platform), MIN(source_message_id),
               MIN(source_user), MIN(source_text)
        FROM positions GROUP BY account_id, timestamp
    """)
    # A snapshot without margin or position P/L, and no positions of its moment, was a flat
    # account: a statement without 持仓汇总 imported before this revision left the day before's
    # positions as the newest.
    op.execute("""
        INSERT INTO position_reports (account_id, timestamp, basis, source_platform, source_message_id,
                                      source_user, source_text)
        SELECT s.account_id, s.timestamp, 'snapshot', s.source_platform, s.source_message_id,
               s.source_user, s.source_text
        FROM margin_snapshots s
        WHERE s.curr_margin = 0 AND (s.position_profit IS NULL OR s.position_profit = 0)
          AND NOT EXISTS (SELECT 1 FROM position_reports r
                          WHERE r.account_id = s.account_id AND r.timestamp = s.timestamp)
    """)


def downgrade() -> None:
    op.drop_table('position_reports')
