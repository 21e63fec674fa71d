"""Migration 0004_attach: the attachments table on a database with a case's message, its unique
(message, source URL) key for citizens' files, and down and up again. SQLite and PostgreSQL."""

import pytest
import sqlalchemy as sa
from alembic import command

from storage.db import make_engine
from storage.migrate import alembic_config, upgrade

ROW = ("INSERT INTO attachments (origin, kind, mime, size, sha256, filename, location_kept, source_url, created_by, "
       "created_at) VALUES ('citizen', 'photo', 'image/jpeg', 10, :sha, 'a.jpg', false, 'https://x/a.jpg', 'c', "
       "CURRENT_TIMESTAMP)")


def test_the_attachments_table_up_down_and_up(database_url):
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(sa.text(ROW), {"sha": "a" * 64})
            assert conn.execute(sa.text("SELECT count(*) FROM attachments")).scalar_one() == 1
        command.downgrade(alembic_config(engine), "0003_reports")
        assert "attachments" not in sa.inspect(engine).get_table_names()
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(sa.text(ROW), {"sha": "b" * 64})
        cols = {c["name"] for c in sa.inspect(engine).get_columns("attachments")}
        assert {"case_id", "draft_id", "message_id", "sha256", "location_kept", "removed_at"} <= cols
    finally:
        engine.dispose()


def test_a_citizens_file_is_stored_once_per_message_and_url(database_url):
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO messages (source, platform, external_id, thread, author_id, text, "
                                 "created_at, attachments, raw, stored_at, processed, revision, pipeline_attempts, "
                                 "fast_track, engagement) VALUES ('s', 'vk', '1', '{}', 'a', '', CURRENT_TIMESTAMP, "
                                 "'[]', '{}', CURRENT_TIMESTAMP, false, 1, 0, false, 0)"))
            mid = conn.execute(sa.text("SELECT id FROM messages")).scalar_one()
        keyed = ROW.replace("(origin,", "(message_id, origin,").replace("VALUES (", "VALUES (:mid, ")
        with engine.begin() as conn:
            conn.execute(sa.text(keyed), {"sha": "c" * 64, "mid": mid})
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text(keyed), {"sha": "c" * 64, "mid": mid})
    finally:
        engine.dispose()
