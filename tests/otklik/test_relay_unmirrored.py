"""The relay's look for posted replies whose regional platform was not told (a failed mirror):
decided by the database from the reply's mirror_source, only for replies posted a while ago."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from otklik.relay import LOST_JOB_AFTER, OutboxRelay
from reports.sample import Spec, ensure_departments, insert_cases
from storage.tables import DraftRow, OutboxRow, now


def test_only_old_posted_unmirrored_replies_with_a_mirror_source(db):
    t = now()
    old, recent = t - LOST_JOB_AFTER - timedelta(minutes=1), t
    rows = [("to_mirror", "posted", False, old, {"mirror_source": "im"}),
            ("no_mirror", "posted", False, old, {}),
            ("null_mirror", "posted", False, old, {"mirror_source": None}),
            ("mirrored", "posted", True, old, {"mirror_source": "im"}),
            ("too_recent", "posted", False, recent, {"mirror_source": "im"}),
            ("not_posted", "failed", False, old, {"mirror_source": "im"})]
    with db.session() as s:
        ensure_departments(s, ["dorogi"])
        insert_cases(s, [Spec(identified=t, submitted=t, approved=t) for _ in rows], first_id=1)
        s.flush()
        for case_id, (oid, status, mirrored, posted_at, extra) in enumerate(rows, 1):
            draft_id = s.execute(select(DraftRow.id).where(DraftRow.case_id == case_id)).scalar_one()
            s.add(OutboxRow(id=oid, case_id=case_id, draft_id=draft_id, message_id=case_id, source="tg",
                            reply={"text": "Ответ", "platform": "telegram", **extra}, status=status,
                            mirrored=mirrored, posted_at=posted_at))
    assert OutboxRelay(db, "redis://unused")._unmirrored() == ["to_mirror"]
