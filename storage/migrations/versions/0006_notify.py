"""notify: staff notifications (one row per event × person × channel) and people's preferences

Revision ID: 0006_notify
Revises: 0005_perf
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

from storage.tables import UTCDateTime

revision = '0006_notify'
down_revision = '0005_perf'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'notifications',
        sa.Column('id', ID, primary_key=True, autoincrement=True),
        sa.Column('dedupe_key', sa.String(300), nullable=False),
        sa.Column('user_id', ID, sa.ForeignKey('users.id'), nullable=False),
        sa.Column('channel', sa.String(20), nullable=False),
        sa.Column('kind', sa.String(40), nullable=False),
        sa.Column('case_id', ID, nullable=True),
        sa.Column('standing_in_for', sa.String(100), nullable=True),
        sa.Column('subject', sa.String(300), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('link', sa.String(1000), nullable=True),
        sa.Column('urgent', sa.Boolean(), nullable=False),
        sa.Column('status', sa.String(20), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.String(300), nullable=True),
        sa.Column('not_before', UTCDateTime(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('enqueued_at', UTCDateTime(), nullable=True),
        sa.Column('sending_at', UTCDateTime(), nullable=True),
        sa.Column('sent_at', UTCDateTime(), nullable=True),
        sa.Column('read_at', UTCDateTime(), nullable=True),
        sa.UniqueConstraint('dedupe_key', name='uq_notifications_dedupe_key'),
    )
    op.create_index('ix_notifications_status', 'notifications', ['status'])
    op.create_index('ix_notifications_user_channel', 'notifications', ['user_id', 'channel', 'created_at'])
    op.create_table(
        'notify_preferences',
        sa.Column('user_id', ID, sa.ForeignKey('users.id'), primary_key=True),
        sa.Column('channels', sa.JSON(), nullable=False),
        sa.Column('quiet_start', sa.String(5), nullable=True),
        sa.Column('quiet_end', sa.String(5), nullable=True),
        sa.Column('digest', sa.Boolean(), nullable=False),
        sa.Column('digest_at', sa.String(5), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('notify_preferences')
    op.drop_index('ix_notifications_user_channel', table_name='notifications')
    op.drop_index('ix_notifications_status', table_name='notifications')
    op.drop_table('notifications')
