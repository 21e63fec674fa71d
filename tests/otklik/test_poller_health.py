"""A poll that fails in a way no connector error describes (a parser bug) still shows in the
source's health — failing, then stalled — and is logged by class and place, never by content;
a batch with poison and parser-rejected items is stored, quarantined, and the cursor moves."""

import logging
from datetime import UTC, datetime, timedelta

from connectors.base import SourceConfig
from otklik.logs import JsonFormatter
from otklik.models import Author, Batch, Message, Rejected, Thread
from otklik.poller import PollLoop
from storage import sources as source_state
from storage.tables import SourceStateRow, now

SECRET = "Тайное имя из полезной нагрузки"


class StubConnector:
    """Only what PollLoop touches; the platform is replaced, storage is real."""

    def __init__(self, batches):
        self.config = SourceConfig(name="src", platform="pos", poll_interval=0.1)
        self.batches = batches

    async def fetch(self, cursor):
        item = self.batches.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


async def test_unexpected_error_shows_as_failing_then_stalled(db, caplog):
    caplog.set_level(logging.WARNING, logger="otklik.poller")
    loop = PollLoop(StubConnector([ValueError(f"bad field in {SECRET}")] * 3), db)
    for _ in range(3):
        assert await loop.step() > 0  # backs off, never raises into the daemon's loop
    state = source_state.all_states(db)["src"]
    assert state["status"] == "failing" and state["last_error"] == "ValueError"
    assert state["consecutive_failures"] == 3
    with db.session() as s:
        s.get(SourceStateRow, "src").failing_since = now() - timedelta(minutes=2)
    assert source_state.all_states(db)["src"]["status"] == "stalled"
    logged = "\n".join(JsonFormatter().format(r) for r in caplog.records)  # as the daemon writes them
    assert SECRET not in logged and '"where": "test_poller_health.py:' in logged


async def test_batch_with_poison_moves_the_cursor_and_shows_degraded(db):
    good = Message(source="src", platform="pos", external_id="a1", thread=Thread(kind="appeal"),
                   author=Author(id="1"), text="Яма\x00 во дворе", created_at=datetime.now(UTC))
    batch = Batch(messages=[good], rejected=[Rejected(raw={"text": 1}, reason="text is not a string")],
                  next_cursor="7")
    loop = PollLoop(StubConnector([batch]), db)
    assert await loop.step() == 0.1
    assert db.get_cursor("src") == "7" and loop.total.quarantined == 1 and loop.total.new == 1
    state = source_state.all_states(db)["src"]
    assert (state["status"], state["quarantined"]) == ("degraded", 1)
    assert state["last_reason"] == "rejected by the parser: text is not a string"


async def test_an_operator_alert_is_raised_once_per_failure_not_on_every_retry(db):
    """A configuration problem (Telegram 409, VK validation) fails every poll until a person acts:
    the operator is told once, again only after a poll succeeded and it came back."""
    from connectors.errors import Fatal

    def problem():
        return Fatal("webhook is active: delete it or switch the source to webhooks", alert=True)

    alerts = []

    async def on_alert(kind, source, text):
        alerts.append(kind)

    loop = PollLoop(StubConnector([problem(), problem(), problem(), Batch(), problem()]), db, on_alert=on_alert)
    for _ in range(3):
        await loop.step()
    assert alerts == ["fatal"]
    await loop.step()  # a poll succeeds: the problem is over
    await loop.step()  # and comes back: that is news
    assert alerts == ["fatal", "fatal"]
