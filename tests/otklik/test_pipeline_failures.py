"""A message whose routing raises, or a platform event the case refuses, is retried a bounded number
of times and then quarantined; it never stops the pipeline for the others."""

from datetime import UTC, datetime

import sqlalchemy as sa

from otklik import metrics
from otklik.actor import Actor
from otklik.models import Author, Batch, Message, StatusChange, Thread
from otklik.pipeline import MAX_ATTEMPTS, Pipeline
from otklik.settings import Settings
from storage import quarantine
from storage.tables import CaseRow, MessageRow, PlatformEventRow, QuarantineRow

POISON = "ЛОМАЕТ МАРШРУТИЗАЦИЮ"


class FlakyRouter:
    """The real router, except that it raises on one text while `broken` (a stub is fine: the
    router is not storage)."""

    def __init__(self, real) -> None:
        self.real = real
        self.broken = True
        self.calls = 0

    def route(self, text, **kw):
        if self.broken and POISON in text:
            self.calls += 1
            raise RuntimeError(f"router bug on {text}")  # the text must not reach the reason
        return self.real.route(text, **kw)


def message(ext: str, text: str, platform: str = "telegram") -> Message:
    return Message(source="src", platform=platform, external_id=ext, thread=Thread(kind="chat"),
                   author=Author(id="u" + ext, name="Автор Тайный"), text=text, created_at=datetime.now(UTC))


def failures(stage: str) -> float:
    return metrics.REGISTRY.get_sample_value("otklik_pipeline_failures_total", {"stage": stage}) or 0.0


def test_routing_failure_retried_then_quarantined_others_processed(db):
    settings = Settings(sources=[{"name": "src", "platform": "telegram", "profile_channel": "social"}])
    pipeline = Pipeline.create(db, settings)
    router = pipeline.router = FlakyRouter(pipeline.router)
    before = failures("routing")
    db.ingest("src", Batch(messages=[
        message("1", "На улице Ленина не горят фонари уже неделю"),
        message("2", f"Яма на дороге у школы {POISON}"),
        message("3", "Во дворе дома 5 не вывозят мусор")]))
    assert pipeline.process_pending() == 2  # the two good ones; the failed one does not count as done
    with db.session() as s:
        assert s.execute(sa.select(sa.func.count(CaseRow.id))).scalar_one() == 2
        bad = s.execute(sa.select(MessageRow).where(MessageRow.external_id == "2")).scalar_one()
        assert (bad.processed, bad.pipeline_attempts) == (False, 1)
        assert bad.pipeline_error == "routing: RuntimeError"
    assert pipeline.process_pending() == 0  # only the failing one was pending: the daemon waits
    assert pipeline.process_pending() == 1  # third failure: given up, quarantined
    assert pipeline.process_pending() == 0  # and not picked again
    assert router.calls == MAX_ATTEMPTS == 3
    assert failures("routing") - before == 3
    with db.session() as s:
        bad = s.execute(sa.select(MessageRow).where(MessageRow.external_id == "2")).scalar_one()
        assert bad.processed and bad.pipeline_attempts == 3
        item = s.execute(sa.select(QuarantineRow)).scalar_one()
        assert (item.stage, item.source, item.external_id) == ("pipeline", "src", "2")
        assert item.raw == {"message_id": bad.id, "revision": 1}
        assert POISON not in item.reason and "Тайный" not in item.reason
    # Fixed: the operator retries, the pipeline takes it again and opens its case.
    router.broken = False
    with db.session() as s:
        assert quarantine.retry(s, Actor(login="op", role="curator"), item.id) == "requeued for the pipeline"
    assert pipeline.process_pending() == 1
    with db.session() as s:
        assert s.execute(sa.select(sa.func.count(CaseRow.id))).scalar_one() == 3


def test_platform_event_that_raises_does_not_stop_the_others(db):
    """An event whose case cannot take it raises (here a case record that no longer reads, as after
    a bad manual edit of the database). The event is retried, then quarantined; the others are
    applied. (A platform-granted extension used to be the example; it is now applied in the role the
    profile gives the decision, see test_feedback_flows.py.)"""
    settings = Settings(sources=[{"name": "kam", "platform": "kamchatka", "profile_channel": "kamchatka"}],
                        profile="sobolevo")
    pipeline = Pipeline.create(db, settings)
    db.ingest("kam", Batch(messages=[message("k1", "Во дворе не вывозят мусор вторую неделю", "kamchatka"),
                                     message("k2", "Не работает фонарь у подъезда", "kamchatka")]))
    pipeline.process_pending()
    with db.session() as s:
        broken = s.execute(sa.select(CaseRow).join(MessageRow, MessageRow.id == CaseRow.message_id)
                           .where(MessageRow.external_id == "k1")).scalar_one()
        broken.record = {**broken.record, "state": "no such state"}
    at = datetime.now(UTC)
    before = failures("event")
    db.ingest("kam", Batch(status_changes=[
        StatusChange(external_id="k1", status="extension_granted", at=at),
        StatusChange(external_id="k2", status="rated", rating=5, at=at),
        StatusChange(external_id="nobody", status="returned", at=at)]))
    for _ in range(MAX_ATTEMPTS):
        pipeline.process_pending()
    with db.session() as s:
        events = {e.external_id: e for e in s.execute(sa.select(PlatformEventRow)).scalars()}
        assert events["k2"].processed and events["k2"].attempts == 0
        assert events["nobody"].processed
        granted = events["k1"]
        assert granted.processed and granted.attempts == MAX_ATTEMPTS and granted.error == "ValidationError"
        item = s.execute(sa.select(QuarantineRow)).scalar_one()
        assert (item.stage, item.external_id, item.raw["event_id"]) == ("event", "k1", granted.id)
    assert failures("event") - before == MAX_ATTEMPTS
