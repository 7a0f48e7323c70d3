"""lead fields: interest and source on clients

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch_op:
        batch_op.add_column(sa.Column("interest", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("lead_source", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch_op:
        batch_op.drop_column("lead_source")
        batch_op.drop_column("interest")
