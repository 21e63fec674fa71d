"""quarantine: items set aside so one bad item never blocks the others; pipeline attempts; source
failure runs for the stalled state

Revision ID: 0002_quarantine
Revises: 0001
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

import storage.tables

revision = '0002_quarantine'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('quarantine',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('platform', sa.String(length=40), nullable=True),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.Column('created_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('resolved_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quarantine_source'), ['source'], unique=False)
        batch_op.create_index(batch_op.f('ix_quarantine_created_at'), ['created_at'], unique=False)
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pipeline_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('pipeline_error', sa.String(length=300), nullable=True))
    with op.batch_alter_table('platform_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('error', sa.String(length=300), nullable=True))
    with op.batch_alter_table('source_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failures', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('failing_since', storage.tables.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('source_state', schema=None) as batch_op:
        batch_op.drop_column('failing_since')
        batch_op.drop_column('failures')
    with op.batch_alter_table('platform_events', schema=None) as batch_op:
        batch_op.drop_column('error')
        batch_op.drop_column('attempts')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('pipeline_error')
        batch_op.drop_column('pipeline_attempts')
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quarantine_created_at'))
        batch_op.drop_index(batch_op.f('ix_quarantine_source'))
    op.drop_table('quarantine')
