"""Leases and message claims, the two things that make several daemons on one database safe.
Run on SQLite by default and on PostgreSQL with DATABASE_URL (each test its own schema)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from otklik.models import Author, Batch, Message, Thread
from otklik.pipeline import Pipeline, claim
from otklik.settings import Settings
from storage import leases
from storage.tables import CaseRow, MessageRow, VerdictRow


def test_a_lease_is_held_by_one_holder_until_it_expires_or_is_released(db):
    assert leases.acquire(db, "poll:tg", "a", ttl=30)
    assert not leases.acquire(db, "poll:tg", "b", ttl=30)  # held and valid: the standby waits
    assert leases.acquire(db, "poll:tg", "a", ttl=30)  # the holder renews
    assert leases.acquire(db, "relay", "b", ttl=30)  # another name is another lease
    held = leases.held(db)
    assert held["poll:tg"]["holder"] == "a" and held["poll:tg"]["valid"]
    assert held["relay"]["holder"] == "b"
    assert leases.release(db, "a") == 1
    assert leases.acquire(db, "poll:tg", "b", ttl=30)  # released: taken over at once
    assert not leases.acquire(db, "poll:tg", "a", ttl=30)


def test_clear_forgets_every_lease(db):
    assert leases.acquire(db, "poll:tg", "crashed", ttl=30) and leases.acquire(db, "relay", "crashed", ttl=30)
    assert leases.clear(db) == 2
    assert leases.acquire(db, "poll:tg", "restarted", ttl=30)


def test_an_expired_lease_is_taken_over_and_its_old_holder_cannot_renew(db):
    assert leases.acquire(db, "watcher", "dead", ttl=-1)  # as if its holder died a second ago
    assert not leases.held(db)["watcher"]["valid"]
    assert leases.acquire(db, "watcher", "standby", ttl=30)
    assert not leases.acquire(db, "watcher", "dead", ttl=30)  # the old holder came back: too late
    assert leases.held(db)["watcher"]["holder"] == "standby"


def test_racing_holders_get_the_lease_once(db):
    start = threading.Barrier(8)

    def take(i: int) -> bool:
        start.wait()
        return leases.acquire(db, "poll:vk", f"daemon-{i}", ttl=30)

    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(take, range(8)))
    assert won.count(True) == 1, won


def _message(ext: str, text: str) -> Message:
    return Message(source="src", platform="telegram", external_id=ext, thread=Thread(kind="chat"),
                   author=Author(id="u" + ext, name="Автор"), text=text, created_at=datetime.now(UTC))


TEXTS = ["На улице Ленина не горят фонари уже неделю", "Во дворе дома 5 яма на дороге, машины бьют колёса",
         "Не вывозят мусор с площадки на Садовой третий день", "Прорвало трубу у школы, вода течёт по улице"]


def test_two_pipelines_on_one_database_process_each_message_once(db):
    """Two daemons' pipelines, racing over the same pending messages: one verdict and one case
    per message, and no message moderated twice (each pipeline's own count of what it did)."""
    settings = Settings(sources=[{"name": "src", "platform": "telegram", "profile_channel": "social"}])
    a, b = Pipeline.create(db, settings), Pipeline.create(db, settings)
    db.ingest("src", Batch(messages=[_message(str(i), TEXTS[i % len(TEXTS)] + f", обращение {i}")
                                     for i in range(24)]))
    moderated = {id(a): [], id(b): []}
    for p in (a, b):
        real = p.moderation.moderate

        def counting(msg_id, *args, _real=real, _p=p, **kw):
            moderated[id(_p)].append(msg_id)
            return _real(msg_id, *args, **kw)
        p.moderation.moderate = counting
    start = threading.Barrier(2)

    def run(p: Pipeline) -> int:
        start.wait()
        return p.process_pending()

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(run, (a, b)))
    with db.session() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(MessageRow)
                         .where(MessageRow.processed.is_(False))).scalar_one() == 0
        cases = s.execute(sa.select(CaseRow.message_id)).scalars().all()
        verdicts = s.execute(sa.select(VerdictRow.message_id)).scalars().all()
    assert len(verdicts) == 24 and len(set(cases)) == len(cases) > 0
    done = moderated[id(a)] + moderated[id(b)]
    assert sorted(done) == sorted(set(done)) and len(done) == 24


def test_a_claimed_message_is_skipped_by_another_transaction(db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite has one writer and one daemon per var dir")
    db.ingest("src", Batch(messages=[_message("1", TEXTS[0])]))
    with db.session() as s:
        message_id = s.execute(sa.select(MessageRow.id)).scalar_one()
    with db.session() as first:
        assert claim(first, message_id) is not None
        with db.session() as second:
            assert claim(second, message_id) is None  # SKIP LOCKED: passed by, not waited for
    with db.session() as later:
        assert claim(later, message_id) is not None  # the first transaction ended: free again


def test_a_pipeline_learns_what_another_daemon_moderated(db):
    """A repeat is recognised whichever daemon took the original: B's repeat index learns the
    messages A processed."""
    settings = Settings(sources=[{"name": "src", "platform": "telegram", "profile_channel": "social"}])
    a, b = Pipeline.create(db, settings), Pipeline.create(db, settings)
    db.ingest("src", Batch(messages=[_message("1", TEXTS[0])]))
    assert a.process_pending() == 1
    with db.session() as s:
        message_id = s.execute(sa.select(MessageRow.id)).scalar_one()
    assert str(message_id) not in b.moderation.index
    assert b.process_pending() == 0  # nothing left for B, but it looked at what A did
    assert str(message_id) in b.moderation.index
