"""reports: report_runs (each scheduled report once per period), users.email (where reports go)

Revision ID: 0003_reports
Revises: 0002_auth
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

import storage.tables

revision = '0003_reports'
down_revision = '0002_email'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = storage.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=300), nullable=True))
    op.create_table('report_runs',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('period', sa.String(length=40), nullable=False),
    sa.Column('claimed_at', When, nullable=False),
    sa.Column('delivered_at', When, nullable=True),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'period', name='uq_report_runs_kind_period')
    )


def downgrade() -> None:
    op.drop_table('report_runs')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email')
