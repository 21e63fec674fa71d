"""Migration 0002_quarantine on a database with rows: existing messages, events and source states
get zero attempts; the migration also goes down and up again. SQLite and PostgreSQL."""

import sqlalchemy as sa
from alembic import command

from storage.db import make_engine
from storage.migrate import alembic_config, current, upgrade


def test_upgrade_with_rows_then_down_and_up(database_url):
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0001")
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO messages (source, platform, external_id, thread, author_id, text, created_at, "
                "attachments, fast_track, engagement, raw, stored_at, processed, revision) VALUES "
                "('tg', 'telegram', '1', '{}', '1', 'т', CURRENT_TIMESTAMP, '[]', false, 0, '{}', "
                "CURRENT_TIMESTAMP, false, 1)"))
            conn.execute(sa.text("INSERT INTO source_state (source, status, alerted) VALUES ('tg', 'ok', false)"))
        upgrade(engine, "0002_quarantine")  # this migration, whatever comes after it
        assert current(engine) == "0002_quarantine"
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT pipeline_attempts FROM messages")).scalar_one() == 0
            assert conn.execute(sa.text("SELECT failures FROM source_state")).scalar_one() == 0
            assert conn.execute(sa.text("SELECT count(*) FROM quarantine")).scalar_one() == 0
        command.downgrade(alembic_config(engine), "0001")
        assert current(engine) == "0001"
        upgrade(engine, "0002_quarantine")  # this migration, whatever comes after it
        assert current(engine) == "0002_quarantine"
    finally:
        engine.dispose()
