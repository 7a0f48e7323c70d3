"""undeliverable notices (outbox.unrouted_reason, routed_at) and every acknowledgement of an alert

Revision ID: 0010
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa
import crm_core.types


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alert_acknowledgements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('acknowledged_at', crm_core.types.UTCDateTime(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('source_platform', sa.String(length=16), nullable=True),
    sa.Column('source_message_id', sa.String(length=128), nullable=True),
    sa.Column('source_user', sa.String(length=128), nullable=True),
    sa.Column('source_text', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_acknowledgements_alert_id_alerts')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_alert_acknowledgements_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_acknowledgements'))
    )
    with op.batch_alter_table('alert_acknowledgements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_acknowledgements_alert_id'), ['alert_id'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unrouted_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('routed_at', crm_core.types.UTCDateTime(), nullable=True))

    # The acknowledgement alerts already record becomes the first of their history.
    op.execute("INSERT INTO alert_acknowledgements (alert_id, staff_id, acknowledged_at, comment, source_platform, "
               "source_message_id, source_user, source_text) SELECT id, acknowledged_by_id, acknowledged_at, "
               "ack_comment, source_platform, source_message_id, source_user, source_text FROM alerts "
               "WHERE acknowledged_at IS NOT NULL AND acknowledged_by_id IS NOT NULL")



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('routed_at')
        batch_op.drop_column('unrouted_reason')

    with op.batch_alter_table('alert_acknowledgements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_acknowledgements_alert_id'))

    op.drop_table('alert_acknowledgements')
