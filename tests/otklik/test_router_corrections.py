"""A curator's correction, made through the service function the console and the API call
(`cases.route(..., learn=pipeline.record_correction)`), routes the next near-identical message
the corrected way at once, survives a restart of the pipeline, and leaves unrelated routes alone.
Texts written for this test."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from otklik.actor import Actor
from otklik.models import Author, Batch, Message, Thread
from otklik.pipeline import Pipeline
from otklik.services import cases
from otklik.settings import Settings
from storage.tables import CaseRow, MessageRow

CUR = Actor(login="cur", role="curator", via="cli")
FIRST = "На улице Садовой у дома 12 третью неделю не горят фонари, вечером темно"
NEAR = "На улице Садовой у дома 14 третью неделю не горят фонари, вечером темно!"
UNRELATED = "Во дворе дома 5 не вывозят мусор с контейнерной площадки"


def message(ext: str, text: str) -> Message:
    return Message(source="src", platform="telegram", external_id=ext, thread=Thread(kind="chat"),
                   author=Author(id="u" + ext, name="Жительница"), text=text, created_at=datetime.now(UTC))


def case_of(db, ext: str) -> CaseRow:
    with db.session() as s:
        msg = s.execute(sa.select(MessageRow).where(MessageRow.external_id == ext)).scalar_one()
        row = cases.by_message(s, msg.id)
        s.expunge(row)
        return row


def test_correction_through_the_service_routes_the_next_near_identical_message(db, tmp_path):
    settings = Settings(var_dir=tmp_path, sources=[{"name": "src", "platform": "telegram", "profile_channel": "social"}])
    pipeline = Pipeline.create(db, settings)
    db.ingest("src", Batch(messages=[message("1", FIRST), message("2", UNRELATED)]))
    assert pipeline.process_pending() == 2
    first, unrelated = case_of(db, "1"), case_of(db, "2")
    assert (first.topic_group, first.executors) == ("Благоустройство", ["blagoustroystvo"])

    with db.session() as s:  # the curator: these lights are the road's, the roads department answers
        cases.route(s, CUR, first.id, executors=["dorogi"], topic_group="Дороги",
                    topic="Освещение автомобильных дорог", learn=pipeline.record_correction)

    db.ingest("src", Batch(messages=[message("3", NEAR), message("4", UNRELATED + ", опять")]))
    assert pipeline.process_pending() == 2
    near, other = case_of(db, "3"), case_of(db, "4")
    assert (near.topic_group, near.topic, near.executors) == ("Дороги", "Освещение автомобильных дорог", ["dorogi"])
    assert not near.needs_manual
    assert (other.topic_group, other.executors) == (unrelated.topic_group, unrelated.executors)

    # An executor-only correction of a routed case teaches too; and a restarted pipeline remembers.
    with db.session() as s:
        cases.route(s, CUR, near.id, executors=["zhkh"], learn=pipeline.record_correction)
    restarted = Pipeline.create(db, settings)
    db.ingest("src", Batch(messages=[message("5", NEAR + " Помогите.")]))
    assert restarted.process_pending() == 1
    again = case_of(db, "5")
    assert (again.topic_group, again.executors) == ("Дороги", ["zhkh"])
