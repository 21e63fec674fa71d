"""perf: indexes for the console's inbox, case page and the repeat history (issue 17's figures)

- ix_cases_inbox: the inbox's first page (cases still worked on, nearest deadline first) read from
  an index instead of a sort over every case. Partial, with exactly the predicate of
  otklik.services.inbox.in_inbox (PostgreSQL proves it only for the same literal list).
- ix_messages_thread: one author's messages in a source, newest first (the case page's thread:
  20 rows read from the index however much the author wrote).
- ix_cases_updated_at: the pipeline's look, every pass, at the cases answered since the last one
  (a scan of every case at 100,000 cases, 80 ms a pass).
SQLite and PostgreSQL; only our own indexes, so the order among 0005 migrations does not matter.

Revision ID: 0005_perf
Revises: 0004_console
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = '0005_perf'
down_revision = '0004_console'
branch_labels = None
depends_on = None

INBOX_WHERE = "state NOT IN ('published', 'awaiting_feedback', 'accepted', 'closed')"


def upgrade() -> None:
    op.create_index('ix_cases_inbox', 'cases', ['answer_by', 'id'],
                    postgresql_where=sa.text(INBOX_WHERE), sqlite_where=sa.text(INBOX_WHERE))
    op.create_index('ix_cases_updated_at', 'cases', ['updated_at'])
    op.create_index('ix_messages_thread', 'messages', ['source', 'author_id', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_messages_thread', table_name='messages')
    op.drop_index('ix_cases_updated_at', table_name='cases')
    op.drop_index('ix_cases_inbox', table_name='cases')
