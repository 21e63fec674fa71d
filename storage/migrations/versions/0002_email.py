"""email: the citizen's e-mail address a case is answered to

Revision ID: 0002_email
Revises: 0002_auth
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = '0002_email'
down_revision = '0002_auth'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_address', sa.String(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('reply_address')
