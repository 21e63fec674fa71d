"""attach: table attachments (files with answers, citizens' own photos)

Revision ID: 0004_attach
Revises: 0003_reports
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

import storage.tables

revision = '0004_attach'
down_revision = '0004_ha'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = storage.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('attachments',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('case_id', Id, sa.ForeignKey('cases.id'), nullable=True),
    sa.Column('draft_id', Id, sa.ForeignKey('drafts.id'), nullable=True),
    sa.Column('message_id', Id, sa.ForeignKey('messages.id'), nullable=True),
    sa.Column('origin', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('mime', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('location_kept', sa.Boolean(), nullable=False),
    sa.Column('source_url', sa.String(length=1000), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', When, nullable=False),
    sa.Column('removed_at', When, nullable=True),
    sa.Column('removed_by', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id', 'source_url', name='uq_attachments_message_url')
    )
    op.create_index('ix_attachments_case_id', 'attachments', ['case_id'])
    op.create_index('ix_attachments_draft_id', 'attachments', ['draft_id'])
    op.create_index('ix_attachments_message_id', 'attachments', ['message_id'])


def downgrade() -> None:
    op.drop_table('attachments')
