"""The repeat index after a restart: loaded per author when their next message comes (not all
authors' 90 days on start), with the answered state of their earlier cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from otklik.models import Author, Batch, Message, Thread
from otklik.pipeline import Pipeline
from otklik.settings import Settings
from storage.tables import CaseRow, MessageRow, VerdictRow

SETTINGS = {"sources": [{"name": "src", "platform": "telegram", "profile_channel": "social"}]}
POTHOLE = "Во дворе дома 5 по улице Садовой яма на дороге, машины бьют колёса, просим заделать"
LAMPS = "На улице Ленина возле школы не горят фонари уже неделю, детям темно идти"


def _message(ext: str, author: str, text: str) -> Message:
    return Message(source="src", platform="telegram", external_id=ext, thread=Thread(kind="chat"),
                   author=Author(id=author, name="Автор"), text=text, created_at=datetime.now(UTC))


def _id(db, ext: str) -> int:
    with db.session() as s:
        return s.execute(sa.select(MessageRow.id).where(MessageRow.external_id == ext)).scalar_one()


def test_a_restarted_pipeline_loads_an_authors_history_when_they_write_again(db):
    first = Pipeline.create(db, Settings(**SETTINGS))
    db.ingest("src", Batch(messages=[_message("1", "u1", POTHOLE), _message("2", "u2", LAMPS)]))
    assert first.process_pending() == 2
    original, other = _id(db, "1"), _id(db, "2")
    with db.session() as s:  # the pothole was answered before the restart, both judged minutes ago
        s.execute(sa.update(CaseRow).where(CaseRow.message_id == original).values(state="published"))
        s.execute(sa.update(VerdictRow).values(decided_at=datetime.now(UTC) - timedelta(minutes=10)))

    restarted = Pipeline.create(db, Settings(**SETTINGS))
    assert len(restarted.moderation.index) == 0  # nothing read on start

    db.ingest("src", Batch(messages=[_message("3", "u1", POTHOLE)]))
    assert restarted.process_pending() == 1
    with db.session() as s:
        verdict = s.get(VerdictRow, _id(db, "3"))
    assert verdict.repeat_of == original  # recognised across the restart
    index = restarted.moderation.index
    assert str(original) in index and index.is_answered(str(original))
    assert str(other) not in index  # u2 has not written since: not loaded


def test_a_new_author_after_a_restart_is_not_a_repeat(db):
    first = Pipeline.create(db, Settings(**SETTINGS))
    db.ingest("src", Batch(messages=[_message("1", "u1", POTHOLE)]))
    assert first.process_pending() == 1
    restarted = Pipeline.create(db, Settings(**SETTINGS))
    db.ingest("src", Batch(messages=[_message("2", "u2", POTHOLE)]))
    assert restarted.process_pending() == 1
    with db.session() as s:
        verdict = s.get(VerdictRow, _id(db, "2"))
    assert verdict.decision == "accept" and verdict.repeat_of is None
