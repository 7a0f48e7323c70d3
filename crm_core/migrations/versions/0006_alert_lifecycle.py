"""alert lifecycle and evidence

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import crm_core.types


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.Enum('risk', 'equity_drop', 'large_transfer', name='alertkind', native_enum=False, length=16), nullable=False, server_default='risk'))
        batch_op.add_column(sa.Column('dedupe_key', sa.String(length=96), nullable=True))
        batch_op.add_column(sa.Column('exchange_risk_degree', crm_core.types.Fixed(scale=6, precision=20), nullable=True))
        batch_op.add_column(sa.Column('balance', crm_core.types.Fixed(scale=2, precision=20), nullable=True))
        batch_op.add_column(sa.Column('available', crm_core.types.Fixed(scale=2, precision=20), nullable=True))
        batch_op.add_column(sa.Column('data_time', crm_core.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('level_at', crm_core.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('escalated_at', crm_core.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_notified_at', crm_core.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('source_platform', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('source_message_id', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('source_user', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('source_text', sa.Text(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_alerts_dedupe_key'), ['dedupe_key'])
    op.execute("UPDATE alerts SET level_at = opened_at")
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.alter_column('level_at', existing_type=crm_core.types.UTCDateTime(), nullable=False)
        batch_op.alter_column('kind', server_default=None)

    op.create_table('alert_notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=16), nullable=False),
    sa.Column('recipient', sa.String(length=128), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.Boolean(), nullable=False),
    sa.Column('created_at', crm_core.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_notifications_alert_id_alerts')),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_alert_notifications_outbox_id_outbox')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_notifications'))
    )
    with op.batch_alter_table('alert_notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_notifications_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_notifications_outbox_id'), ['outbox_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('alert_notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_notifications_outbox_id'))
        batch_op.drop_index(batch_op.f('ix_alert_notifications_alert_id'))
    op.drop_table('alert_notifications')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_alerts_dedupe_key'), type_='unique')
        for column in ('source_text', 'source_user', 'source_message_id', 'source_platform', 'last_notified_at',
                       'escalated_at', 'level_at', 'data_time', 'available', 'balance', 'exchange_risk_degree',
                       'dedupe_key', 'kind'):
            batch_op.drop_column(column)
