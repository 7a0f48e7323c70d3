"""outbox media: attachments' bytes and the platforms' media ids; parts of a message sent

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa

from crm_core.types import UTCDateTime

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parts_done', sa.Integer(), server_default='0', nullable=False))
    op.create_table(
        'outbox_media',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('mime', sa.String(length=128), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('platform_key', sa.String(length=160), nullable=True),
        sa.Column('platform_media_id', sa.String(length=512), nullable=True),
        sa.Column('platform_expires_at', UTCDateTime(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['outbox.id'], name=op.f('fk_outbox_media_message_id_outbox'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_media')),
    )
    with op.batch_alter_table('outbox_media', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_media_message_id'), ['message_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox_media', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_media_message_id'))
    op.drop_table('outbox_media')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('parts_done')
