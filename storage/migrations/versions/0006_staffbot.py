"""staffbot: tables staff_chats (who linked which chat with the staff bot) and staff_link_codes
(one-time link codes, hashed)

Revision ID: 0006_staffbot
Revises: 0005_perf
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

import storage.tables

revision = '0006_staffbot'
down_revision = '0006_notify'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = storage.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('staff_chats',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('user_id', Id, sa.ForeignKey('users.id'), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('linked_at', When, nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('platform', 'chat_id', name='uq_staff_chats_platform_chat'),
    sa.UniqueConstraint('user_id', 'platform', name='uq_staff_chats_user_platform'),
    )
    op.create_index('ix_staff_chats_user_id', 'staff_chats', ['user_id'])
    op.create_table('staff_link_codes',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('user_id', Id, sa.ForeignKey('users.id'), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', When, nullable=False),
    sa.Column('expires_at', When, nullable=False),
    sa.Column('used_at', When, nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code_hash', name='uq_staff_link_codes_code_hash'),
    )
    op.create_index('ix_staff_link_codes_user_id', 'staff_link_codes', ['user_id'])


def downgrade() -> None:
    op.drop_table('staff_link_codes')
    op.drop_table('staff_chats')
