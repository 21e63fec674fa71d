"""What a retry after a crash mid-send may do depends on what the platform offers. The job's three
branches, run in-process against the emulator: read-back finds the post (recorded, not re-posted);
an idempotent platform is simply asked again; a platform with neither parks it as uncertain."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.base import SourceConfig
from connectors.telegram.connector import TelegramConnector
from otklik.models import Delivery
from sandbox.runner import serving
from sandbox.telegram.emulator import TOKEN, TelegramEmulator
from storage import outbox
from storage.tables import OutboxRow, now
from workers import jobs


class ReadBackTelegram(TelegramConnector):
    """Telegram as if the Bot API could list a chat's messages (it cannot): reads the emulator's
    record of posts, which stands in for the platform's own history here."""

    can_read_back = True

    async def find_posted(self, reply):
        r = await self.http.get(f"{self.config.base_url}/_sandbox/replies")
        for posted in r.json()["replies"]:
            if posted["text"] == reply.text and posted["chat_id"] == reply.thread.ids["chat_id"]:
                return Delivery(reply_id=reply.id, external_id=f"{posted['chat_id']}:{posted['message_id']}",
                                posted_at=now())
        return None


class Context:
    def __init__(self, db, connector):
        import asyncio

        self.db = db
        self._connector = connector
        self.loop = asyncio.new_event_loop()

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def connector(self, source):
        return self._connector


@pytest.fixture
def setup(db, make_approved_reply, monkeypatch):
    emulator = TelegramEmulator()
    with serving(emulator) as tg:
        created = tg.call(emulator.inject, {"text": "Не вывозят мусор", "author_id": 31})
        thread = {"kind": "chat", "ids": {"chat_id": created["chat_id"], "message_id": created["message_id"]}}
        reply_id = make_approved_reply(thread=thread)

        def crash_after_post(connector_cls):
            """The first attempt posted, then died before recording anything."""
            cfg = SourceConfig(name="tg", platform="telegram", base_url=tg.url, secrets={"token": TOKEN})
            connector = connector_cls(cfg)
            ctx = Context(db, connector)
            with db.session() as s:
                row = s.get(OutboxRow, reply_id)
                ctx.run(connector.send(outbox.reply_of(row)))
                row.status, row.attempts, row.sending_at = "sending", 1, now() - timedelta(hours=1)
            monkeypatch.setattr(jobs, "get_context", lambda: ctx)
            return ctx

        yield {"emulator": emulator, "reply_id": reply_id, "crash": crash_after_post}


def test_read_back_finds_the_post_and_records_it(db, setup):
    setup["crash"](ReadBackTelegram)
    assert jobs.publish_reply(setup["reply_id"]) == "posted"
    assert len(setup["emulator"].replies) == 1
    with db.session() as s:
        assert s.get(OutboxRow, setup["reply_id"]).external_id


def test_no_read_back_no_key_parks_it_uncertain(db, setup):
    setup["crash"](TelegramConnector)
    assert jobs.publish_reply(setup["reply_id"]) == "uncertain"
    assert len(setup["emulator"].replies) == 1
