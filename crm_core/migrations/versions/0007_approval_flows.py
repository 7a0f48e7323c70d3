"""approval routing, decisions per step, SLA marks, and the outcomes they apply

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
import crm_core.types


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('approval_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('route', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('step_started_at', crm_core.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('reminded_at', crm_core.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('escalated_at', crm_core.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('escalated_to_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decided_at', crm_core.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('decided_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_approval_requests_escalated_to_id_staff'), 'staff',
                                    ['escalated_to_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_approval_requests_decided_by_id_staff'), 'staff',
                                    ['decided_by_id'], ['id'])
    with op.batch_alter_table('approval_requests', schema=None) as batch_op:
        batch_op.alter_column('route', server_default=None)

    op.create_table('approval_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('decider_id', sa.Integer(), nullable=False),
    sa.Column('on_behalf_of_id', sa.Integer(), nullable=True),
    sa.Column('decision', sa.Enum('approve', 'reject', name='decision', native_enum=False, length=8), nullable=False),
    sa.Column('comment', sa.String(length=500), nullable=True),
    sa.Column('decided_at', crm_core.types.UTCDateTime(), nullable=False),
    sa.Column('source_platform', sa.String(length=16), nullable=True),
    sa.Column('source_message_id', sa.String(length=128), nullable=True),
    sa.Column('source_user', sa.String(length=128), nullable=True),
    sa.Column('source_text', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['decider_id'], ['staff.id'], name=op.f('fk_approval_decisions_decider_id_staff')),
    sa.ForeignKeyConstraint(['on_behalf_of_id'], ['staff.id'], name=op.f('fk_approval_decisions_on_behalf_of_id_staff')),
    sa.ForeignKeyConstraint(['request_id'], ['approval_requests.id'], name=op.f('fk_approval_decisions_request_id_approval_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_decisions')),
    sa.UniqueConstraint('request_id', 'step', name=op.f('uq_approval_decisions_request_id_step'))
    )
    with op.batch_alter_table('approval_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_decisions_request_id'), ['request_id'], unique=False)

    op.create_table('client_terms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('commission_multiple', crm_core.types.Fixed(scale=4, precision=12), nullable=True),
    sa.Column('commission_approval_id', sa.Integer(), nullable=True),
    sa.Column('margin_ratio', crm_core.types.Fixed(scale=4, precision=12), nullable=True),
    sa.Column('margin_approval_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', crm_core.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_client_terms_client_id_clients')),
    sa.ForeignKeyConstraint(['commission_approval_id'], ['approval_requests.id'], name=op.f('fk_client_terms_commission_approval_id_approval_requests')),
    sa.ForeignKeyConstraint(['margin_approval_id'], ['approval_requests.id'], name=op.f('fk_client_terms_margin_approval_id_approval_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_terms')),
    sa.UniqueConstraint('client_id', name=op.f('uq_client_terms_client_id'))
    )

    op.create_table('client_permissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('approval_id', sa.Integer(), nullable=False),
    sa.Column('granted_at', crm_core.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['approval_id'], ['approval_requests.id'], name=op.f('fk_client_permissions_approval_id_approval_requests')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_client_permissions_client_id_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_permissions')),
    sa.UniqueConstraint('client_id', 'category', name=op.f('uq_client_permissions_client_id_category'))
    )


def downgrade() -> None:
    op.drop_table('client_permissions')
    op.drop_table('client_terms')
    with op.batch_alter_table('approval_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approval_decisions_request_id'))
    op.drop_table('approval_decisions')
    with op.batch_alter_table('approval_requests', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_approval_requests_decided_by_id_staff'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_approval_requests_escalated_to_id_staff'), type_='foreignkey')
        for column in ('decided_by_id', 'decided_at', 'escalated_to_id', 'escalated_at', 'reminded_at',
                       'step_started_at', 'route'):
            batch_op.drop_column(column)
