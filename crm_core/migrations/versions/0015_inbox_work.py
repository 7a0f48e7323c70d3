"""inbox as the unit of work: an accepted message is kept (sealed) until it is answered

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa

from crm_core.types import UTCDateTime

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        # Claims made before this revision were answered: 'done'.
        batch_op.add_column(sa.Column('status', sa.String(length=8), server_default='done', nullable=False))
        batch_op.add_column(sa.Column('payload', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('lease_until', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=160), nullable=True))
        batch_op.create_index(batch_op.f('ix_inbound_messages_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_messages_status'))
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('lease_until')
        batch_op.drop_column('attempts')
        batch_op.drop_column('payload')
        batch_op.drop_column('status')
