"""Migration 0004_ha: the leases table, on a database that already holds data; down and up again.
SQLite and PostgreSQL."""

import sqlalchemy as sa
from alembic import command

from storage import leases
from storage.db import Database, make_engine
from storage.migrate import alembic_config, current, upgrade


def test_leases_table_comes_and_goes_with_its_migration(database_url):
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0003_reports")
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO cursors (source, cursor, updated_at) VALUES ('tg', '42', CURRENT_TIMESTAMP)"))
        upgrade(engine)
        assert "leases" in sa.inspect(engine).get_table_names()
        db = Database.connect(database_url)
        try:
            assert leases.acquire(db, "relay", "a", ttl=10) and not leases.acquire(db, "relay", "b", ttl=10)
            assert db.get_cursor("tg") == "42"
        finally:
            db.dispose()
        command.downgrade(alembic_config(engine), "0003_reports")
        assert "leases" not in sa.inspect(engine).get_table_names()
        upgrade(engine)
        assert current(engine) != "0003_reports" and "leases" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
