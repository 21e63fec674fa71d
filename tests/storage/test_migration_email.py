"""Migration 0002_email: the cases' reply address comes and goes with the migration (nullable, so
existing cases keep answering where the citizen wrote). SQLite and PostgreSQL."""

import sqlalchemy as sa
from alembic import command

from storage.db import make_engine
from storage.migrate import alembic_config, current, upgrade


def columns(engine) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns("cases")}


def test_reply_address_up_down_and_up(database_url):
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0002_auth")
        assert "reply_address" not in columns(engine)
        upgrade(engine, "0002_email")
        assert "reply_address" in columns(engine)
        command.downgrade(alembic_config(engine), "0002_auth")
        assert "reply_address" not in columns(engine) and current(engine) == "0002_auth"
        upgrade(engine, "0002_email")
        assert current(engine) == "0002_email" and "reply_address" in columns(engine)
    finally:
        engine.dispose()
