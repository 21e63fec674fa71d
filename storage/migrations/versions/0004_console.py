"""console: full-text search over message texts and answers (storage/search.py)

PostgreSQL: GIN indexes on the Russian text-search vectors of messages.text and drafts.text
(expression indexes: nothing to keep in sync). SQLite: an FTS5 table `case_search` (one row per
message or draft, keyed by case) filled by triggers on cases and drafts, and from the rows already
stored. Only our own objects: the order among other 0004 migrations does not matter.

Revision ID: 0004_console
Revises: 0003_reports
Create Date: 2026-12-07
"""
from alembic import op

revision = '0004_console'
down_revision = '0004_attach'
branch_labels = None
depends_on = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE case_search USING fts5(case_id UNINDEXED, kind UNINDEXED, body, "
    "tokenize = 'unicode61 remove_diacritics 2')",
    # A case is opened for a stored message: its text is indexed with the case's id.
    "CREATE TRIGGER case_search_case AFTER INSERT ON cases BEGIN "
    "INSERT INTO case_search(case_id, kind, body) SELECT NEW.id, 'message', text FROM messages "
    "WHERE id = NEW.message_id; END",
    # A citizen's edit replaces the indexed text.
    "CREATE TRIGGER case_search_edit AFTER UPDATE OF text ON messages BEGIN "
    "DELETE FROM case_search WHERE kind = 'message' AND case_id IN (SELECT id FROM cases WHERE message_id = NEW.id); "
    "INSERT INTO case_search(case_id, kind, body) SELECT id, 'message', NEW.text FROM cases "
    "WHERE message_id = NEW.id; END",
    "CREATE TRIGGER case_search_draft AFTER INSERT ON drafts BEGIN "
    "INSERT INTO case_search(case_id, kind, body) VALUES (NEW.case_id, 'draft', NEW.text); END",
    "INSERT INTO case_search(case_id, kind, body) SELECT c.id, 'message', m.text FROM cases c "
    "JOIN messages m ON m.id = c.message_id",
    "INSERT INTO case_search(case_id, kind, body) SELECT case_id, 'draft', text FROM drafts",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS case_search_draft", "DROP TRIGGER IF EXISTS case_search_edit",
               "DROP TRIGGER IF EXISTS case_search_case", "DROP TABLE IF EXISTS case_search"]
PG_UP = ["CREATE INDEX ix_messages_text_ru ON messages USING gin (to_tsvector('russian', text))",
         "CREATE INDEX ix_drafts_text_ru ON drafts USING gin (to_tsvector('russian', text))"]
PG_DOWN = ["DROP INDEX IF EXISTS ix_drafts_text_ru", "DROP INDEX IF EXISTS ix_messages_text_ru"]


def _statements(up: bool) -> list[str]:
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        return SQLITE_UP if up else SQLITE_DOWN
    if dialect == 'postgresql':
        return PG_UP if up else PG_DOWN
    return []


def upgrade() -> None:
    for statement in _statements(True):
        op.execute(statement)


def downgrade() -> None:
    for statement in _statements(False):
        op.execute(statement)
