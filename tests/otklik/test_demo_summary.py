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


def test_the_live_view_speaks_russian_with_a_feed_and_in_flight_not_lost(db, make_approved_reply):
    """Messages sent to an emulator and not yet polled are «в обработке», not lost; the feed shows
    the latest messages with their verdicts, routes and replies."""
    from rich.console import Console

    from otklik.demo.summary import feed
    from otklik.demo.view import counts, feed_table

    make_approved_reply()
    # The feeder sent 3 messages; only the one above is stored yet.
    summary = collect(db, SimpleNamespace(servers={}), SimpleNamespace(injected=Counter(telegram=3), errors=0))
    assert summary["in_flight"] == 2
    items = feed(db)
    assert len(items) == 1
    item = items[0]
    assert item["text"] and item["reply"] and item["route"].count("→") == 1
    console = Console(record=True, width=200)
    console.print(counts(summary, 12.0))
    console.print(feed_table(items))
    shown = console.export_text()
    in_flight = next(line for line in shown.splitlines() if "в обработке (ещё не забрано с площадки)" in line)
    assert in_flight.rstrip(" │").endswith(" 2")
    assert "Последние сообщения" in shown and "сохранено" in shown
    assert "lost" not in shown and "stored" not in shown  # no English for the audience
    assert item["reply"][:20] in shown
