"""The watcher leaves published cases out of its scan: nothing about a published answer is ours to
watch (no deadline step, no automatic action), so skipping them changes no alert."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from otklik.watcher import NOTHING_DUE, DeadlineWatcher, _record
from regulation.escalation import automatic_actions, due_events
from regulation.profiles import load_profile
from reports.sample import Spec, ensure_departments, insert_cases
from storage.tables import AlertRow, CaseRow, now


def test_published_cases_have_nothing_due_and_are_not_scanned(db):
    t = now()
    long_ago = t - timedelta(days=40)
    with db.session() as s:
        ensure_departments(s, ["dorogi"])
        insert_cases(s, [Spec(identified=long_ago, state="routed", routed=long_ago, answer_by=long_ago)],
                     profile="severny", first_id=1)
    with db.session() as s:
        row = s.execute(select(CaseRow)).scalar_one()
        record = _record(row)
        profile = load_profile(row.profile)
        assert due_events(record, t, profile, set())  # overdue while routed
        published = record.model_copy(update={"state": "published"})
        assert due_events(published, t, profile, set()) == [] and automatic_actions(published, t, profile) == []
        row.state, row.record = "published", {**row.record, "state": "published"}
    assert "published" in NOTHING_DUE
    assert DeadlineWatcher(db, None).scan(at=t) == 0
    with db.session() as s:
        assert s.execute(select(AlertRow)).first() is None
