"""ha: leases (one daemon at a time polls a source, relays the outbox, watches deadlines)

Revision ID: 0004_ha
Revises: 0003_reports
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

import storage.tables

revision = '0004_ha'
down_revision = '0004_finish'
branch_labels = None
depends_on = None

When = storage.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('leases',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('expires_at', When, nullable=False),
    sa.Column('acquired_at', When, nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('leases')
