"""The demo's summary tells a reply refused because its citizen deleted the message from a lost one."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from types import SimpleNamespace

from otklik.demo.summary import collect
from storage.tables import MessageRow, OutboxRow


def test_a_failed_reply_counts_as_withdrawn_only_when_its_message_was_deleted(db, make_approved_reply):
    withdrawn, broken, posted = (make_approved_reply() for _ in range(3))
    with db.session() as s:
        for outbox_id, status in ((withdrawn, "failed"), (broken, "failed"), (posted, "posted")):
            s.get(OutboxRow, outbox_id).status = status
        s.get(MessageRow, s.get(OutboxRow, withdrawn).message_id).deleted_at = datetime.now(UTC)
    # The emulators and the feeder are not part of this count: a demo with no platforms.
    summary = collect(db, SimpleNamespace(servers={}), SimpleNamespace(injected=Counter(), errors=0))
    assert summary["deliveries"] == {"failed": 2, "posted": 1}
    assert summary["failed_target_deleted"] == 1
    assert summary["routed"] == 3  # the seeded cases have their executors
