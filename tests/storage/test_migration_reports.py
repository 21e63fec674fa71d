"""Migration 0003_reports on a database with a user: the user keeps its row with no e-mail address,
report_runs refuses a second run of the same (kind, period); down and up again. SQLite and PostgreSQL."""

import pytest
import sqlalchemy as sa
from alembic import command

from storage.db import make_engine
from storage.migrate import alembic_config, current, upgrade


def test_upgrade_with_a_user_then_down_and_up(database_url):
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0002_email")
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO users (login, role, roles, password_hash, active, created_at) "
                                 "VALUES ('glava', 'head', '[]', 'x', true, CURRENT_TIMESTAMP)"))
        upgrade(engine, "0003_reports")  # later migrations (0004_*) are not this test's concern
        assert current(engine) == "0003_reports"
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT email FROM users WHERE login = 'glava'")).scalar_one() is None
            run = ("INSERT INTO report_runs (kind, period, claimed_at, recipients, summary) "
                   "VALUES ('periodic:month', '2026-11', CURRENT_TIMESTAMP, '[]', '{}')")
            conn.execute(sa.text(run))
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text(run))
        command.downgrade(alembic_config(engine), "0002_email")
        assert current(engine) == "0002_email"
        upgrade(engine, "0003_reports")  # later migrations (0004_*) are not this test's concern
        assert current(engine) == "0003_reports"
    finally:
        engine.dispose()
