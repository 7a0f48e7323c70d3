"""suitability: questionnaire assessments and signed special risk warnings (kept 20 years)

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa
import crm_core.types


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('special_risk_warnings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('client_level', sa.String(length=2), nullable=True),
    sa.Column('product_level', sa.String(length=2), nullable=False),
    sa.Column('signed_at', crm_core.types.UTCDateTime(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', crm_core.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', crm_core.types.UTCDateTime(), nullable=False),
    sa.Column('source_platform', sa.String(length=16), nullable=True),
    sa.Column('source_message_id', sa.String(length=128), nullable=True),
    sa.Column('source_user', sa.String(length=128), nullable=True),
    sa.Column('source_text', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_special_risk_warnings_client_id_clients')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['staff.id'], name=op.f('fk_special_risk_warnings_recorded_by_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_special_risk_warnings'))
    )
    with op.batch_alter_table('special_risk_warnings', schema=None) as batch_op:
        batch_op.create_index('ix_special_risk_warnings_client_category', ['client_id', 'category'], unique=False)

    op.create_table('suitability_assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=2), nullable=False),
    sa.Column('assessed_at', crm_core.types.UTCDateTime(), nullable=False),
    sa.Column('expires_at', crm_core.types.UTCDateTime(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('reminder_id', sa.Integer(), nullable=True),
    sa.Column('created_at', crm_core.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', crm_core.types.UTCDateTime(), nullable=False),
    sa.Column('source_platform', sa.String(length=16), nullable=True),
    sa.Column('source_message_id', sa.String(length=128), nullable=True),
    sa.Column('source_user', sa.String(length=128), nullable=True),
    sa.Column('source_text', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_suitability_assessments_client_id_clients')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['staff.id'], name=op.f('fk_suitability_assessments_recorded_by_id_staff')),
    sa.ForeignKeyConstraint(['reminder_id'], ['reminders.id'], name=op.f('fk_suitability_assessments_reminder_id_reminders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suitability_assessments'))
    )
    with op.batch_alter_table('suitability_assessments', schema=None) as batch_op:
        batch_op.create_index('ix_suitability_assessments_client_assessed', ['client_id', 'assessed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_suitability_assessments_expires_at'), ['expires_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('suitability_assessments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_suitability_assessments_expires_at'))
        batch_op.drop_index('ix_suitability_assessments_client_assessed')

    op.drop_table('suitability_assessments')
    with op.batch_alter_table('special_risk_warnings', schema=None) as batch_op:
        batch_op.drop_index('ix_special_risk_warnings_client_category')

    op.drop_table('special_risk_warnings')
