"""The Telegram connector against the live emulator over real HTTP, every injected fault included."""

import asyncio

import pytest

from connectors.base import SourceConfig
from connectors.errors import AuthFailed, ConnectorError, Fatal, RateLimited, Transient
from connectors.telegram.connector import TelegramConnector
from otklik.models import Batch, EventKind, Reply, Thread
from otklik.poller import poll_once
from sandbox.runner import serving
from sandbox.telegram.emulator import DISCUSSION, GROUP, TOKEN, TelegramEmulator
from sandbox.telegram.receiver import WebhookReceiver


@pytest.fixture
def tg():
    emulator = TelegramEmulator(long_poll_cap=0.5)
    with serving(emulator) as server:
        yield server, emulator


def connector(server, secrets=None, **options) -> TelegramConnector:
    cfg = SourceConfig(
        name="tg",
        platform="telegram",
        base_url=server.url,
        secrets={"token": TOKEN, **(secrets or {})},
        options={"poll_timeout": 0, "retry_backoff": 0.01, **options},
    )
    return TelegramConnector(cfg)


def reply_to(created: dict, text: str = "Здравствуйте! Разбираемся.", **ids) -> Reply:
    return Reply(
        id=f"r{created['chat_id']}{created['message_id']}",
        source="tg",
        platform="telegram",
        text=text,
        thread=Thread(
            kind="chat", ids={"chat_id": created["chat_id"], "message_id": created["message_id"], **ids}
        ),
    )


async def test_offsets_confirm_only_what_was_stored(tg, db):
    server, emulator = tg
    for i in range(3):
        server.call(emulator.inject, {"text": f"сообщение {i}", "author_id": 10 + i})
    conn = connector(server)
    assert len((await conn.fetch(None)).messages) == 3
    # A crash before storing: asking again with the old cursor returns the same updates.
    assert len((await conn.fetch(None)).messages) == 3
    await poll_once(conn, db)
    await poll_once(conn, db)  # the second poll confirms the first batch and finds nothing new
    assert db.count_messages("tg") == 3
    assert server.call(lambda: len(emulator.updates)) == 0  # confirmed, so Telegram forgot them
    assert await conn.fetch(db.get_cursor("tg")) == Batch()
    await conn.aclose()


async def test_long_poll_returns_when_a_message_arrives(tg):
    server, emulator = tg
    conn = connector(server, poll_timeout=5)  # the emulator caps it at 0.5 s anyway
    polling = asyncio.create_task(conn.fetch(None))
    await asyncio.sleep(0.1)
    server.call(emulator.inject, {"text": "Свет погас"})
    batch = await polling
    batch = batch if batch.messages else await conn.fetch(None)  # a slow machine: the poll timed out first
    assert [m.text for m in batch.messages] == ["Свет погас"]
    await conn.aclose()


async def test_duplicates_edits_and_own_replies(tg, db):
    server, emulator = tg
    emulator.faults.add({"kind": "duplicate", "match": "inject", "count": 1})
    first = server.call(emulator.inject, {"text": "Нет света", "author_id": 5})
    conn = connector(server)
    await poll_once(conn, db)
    assert db.count_messages("tg") == 1  # the re-delivered message recognised by its external id
    server.call(emulator.faults.add, {"kind": "duplicate", "match": "getUpdates", "count": 1})
    server.call(emulator.inject, {"kind": "edit", "text": "Нет света на улице Мира", **first})
    sent = await conn.send(reply_to(first, "Здравствуйте! Чиним."))
    result = await poll_once(conn, db)  # the old update again, plus the edit
    assert result.updated == 1 and db.count_messages("tg") == 1  # our reply is not a citizen message
    assert emulator.replies[0]["reply_to"] == f"{first['chat_id']}:{first['message_id']}"
    assert sent.external_id == f"{first['chat_id']}:{emulator.replies[0]['message_id']}"
    await conn.aclose()


async def test_deletions_are_not_reported(tg, db):
    server, emulator = tg
    created = server.call(emulator.inject, {"text": "Удалю потом", "author_id": 6})
    conn = connector(server)
    await poll_once(conn, db)
    server.call(emulator.inject, {"kind": "delete", **created})
    result = await poll_once(conn, db)
    assert result.deleted == 0 and db.count_messages("tg") == 1  # the Bot API says nothing about deletions
    await conn.aclose()


async def test_channel_comment_and_the_reply_in_its_thread(tg):
    server, emulator = tg
    created = server.call(emulator.inject, {"text": "А когда на нашей улице?", "chat": "channel_comment"})
    conn = connector(server)
    [comment] = (await conn.fetch(None)).messages  # neither the post nor its automatic forward
    assert comment.thread.ids["chat_id"] == DISCUSSION["id"] and comment.reply_to
    await conn.send(reply_to(created, message_thread_id=comment.thread.ids["message_thread_id"]))
    [posted] = emulator.replies
    assert posted["reply_to"] == comment.external_id
    assert posted["message_thread_id"] == comment.thread.ids["message_thread_id"]
    await conn.aclose()


async def test_transient_failures_are_retried_for_reads(tg):
    server, emulator = tg
    server.call(emulator.inject, {"text": "Вопрос"})
    conn = connector(server)
    for kind in ("5xx", "malformed"):
        server.call(emulator.faults.add, {"kind": kind, "match": "getUpdates", "count": 1})
        assert len((await conn.fetch(None)).messages) == 1
    for kind in ("5xx", "malformed"):
        server.call(emulator.faults.add, {"kind": kind, "match": "getUpdates", "count": 3})
        with pytest.raises(Transient):
            await conn.fetch(None)
    await conn.aclose()


async def test_timeouts_are_transient(tg):
    server, emulator = tg
    conn = connector(server, request_timeout=0.2, read_attempts=1)
    server.call(emulator.faults.add, {"kind": "timeout", "match": "getUpdates", "count": 1, "delay": 1.0})
    with pytest.raises(Transient, match="timed out"):
        await conn.fetch(None)
    await conn.aclose()


async def test_sends_are_never_retried_by_the_connector(tg):
    server, emulator = tg
    created = server.call(emulator.inject, {"text": "Вопрос", "author_id": 8})
    conn = connector(server)
    server.call(emulator.faults.add, {"kind": "5xx", "match": "sendMessage", "count": 1})
    with pytest.raises(Transient):
        await conn.send(reply_to(created))
    assert emulator.replies == []  # the worker decides whether to try again
    await conn.aclose()


async def test_errors_are_classified_by_code(tg):
    server, emulator = tg
    conn = connector(server)
    server.call(emulator.faults.add, {"kind": "429", "match": "getUpdates", "count": 1, "retry_after": 7})
    with pytest.raises(RateLimited) as limited:
        await conn.fetch(None)
    assert limited.value.retry_after == 7
    blocked = server.call(emulator.inject, {"text": "x", "author_id": 42})
    server.call(emulator.blocked_chats.add, 42)
    with pytest.raises(Fatal) as exc:
        await conn.send(reply_to(blocked))
    assert exc.value.code == 403
    gone = server.call(emulator.inject, {"text": "удалю", "chat": "group"})
    server.call(emulator.inject, {"kind": "delete", **gone})
    with pytest.raises(Fatal) as exc:  # in a group an answer must not hang detached from its question
        await conn.send(reply_to(gone))
    assert exc.value.code == 400
    server.call(emulator.revoke)
    with pytest.raises(AuthFailed):
        await conn.fetch(None)
    [problem] = await conn.check()  # `otklik sources check` says what is wrong
    assert "rejected" in problem
    await conn.aclose()


async def test_a_private_answer_survives_a_deleted_question(tg):
    server, emulator = tg
    created = server.call(emulator.inject, {"text": "удалю", "author_id": 9})
    server.call(emulator.inject, {"kind": "delete", **created})
    conn = connector(server)
    await conn.send(reply_to(created))
    assert emulator.replies[0]["reply_to"] is None
    await conn.aclose()


async def test_second_poller_gets_conflict(tg):
    server, emulator = tg
    a, b = connector(server, poll_timeout=1), connector(server, poll_timeout=1)
    first = asyncio.create_task(a.fetch(None))
    await asyncio.sleep(0.2)
    second = asyncio.create_task(b.fetch(None))
    with pytest.raises(Fatal) as exc:  # 409: terminated by the other getUpdates request
        await first
    assert exc.value.code == 409 and exc.value.alert and "one poller per token" in str(exc.value)
    await second
    await a.aclose()
    await b.aclose()


class Limits:
    """A limiter that records what it was asked."""

    def __init__(self):
        self.asked = []

    async def wait(self, key, rate, per=1.0):
        self.asked.append((key.split(":", 2)[2], rate, per))


async def test_limits_are_asked_before_each_send(tg):
    server, emulator = tg
    private = server.call(emulator.inject, {"text": "вопрос", "author_id": 77})
    group = server.call(emulator.inject, {"text": "вопрос", "chat": "group"})
    conn = connector(server)
    conn.limiter = limits = Limits()
    await conn.send(reply_to(private))
    assert limits.asked == [("chat:77", 1, 1.1), ("all", 1, 1 / 28)]
    limits.asked.clear()
    await conn.send(reply_to(group))
    assert limits.asked == [
        (f"group:{GROUP['id']}", 19, 60.0),
        (f"chat:{GROUP['id']}", 1, 1.1),
        ("all", 1, 1 / 28),
    ]
    await conn.aclose()


async def test_sending_respects_the_per_chat_limit(tg):
    server, emulator = tg
    created = server.call(emulator.inject, {"text": "вопрос", "author_id": 78})
    conn = connector(server)
    for i in range(3):  # 1 message/s per chat: our limiter waits instead of provoking a 429
        await conn.send(reply_to(created, f"ответ {i}"))
    assert emulator.rate_limited == 0 and len(emulator.replies) == 3
    await conn.aclose()


async def test_webhook_end_to_end(tg, db):
    """Telegram POSTs updates with the secret; a wrong secret is refused (and redelivered later)."""
    server, emulator = tg
    conn = connector(server, secrets={"webhook_secret": "s3cret"}, webhook=True)

    async def daemon_like(body, headers):
        try:
            result = await conn.handle_webhook(body, headers)
        except ConnectorError as exc:
            return (403 if exc.kind == "auth_failed" else 400), exc.kind
        db.ingest("tg", Batch(messages=result.messages))  # stored before the 200, as the daemon does
        return 200, "ok"

    receiver = WebhookReceiver(daemon_like, path="/webhooks/tg")
    with serving(receiver) as hook:
        await conn.register_webhook(hook.url + receiver.path)
        server.call(emulator.inject, {"text": "Нет воды", "author_id": 15})
        server.call(emulator.inject, {"text": "И света", "chat": "group"})
        for _ in range(100):
            if db.count_messages("tg") == 2:
                break
            await asyncio.sleep(0.05)
        assert db.count_messages("tg") == 2
        assert all(r["headers"]["X-Telegram-Bot-Api-Secret-Token"] == "s3cret" for r in receiver.received)
        assert await conn.check() == []
        assert await conn.fetch(None) == Batch()  # webhook mode does not poll

        conn.config.secrets["webhook_secret"] = type(conn.config.secrets["webhook_secret"])("rotated")
        server.call(emulator.inject, {"text": "Ещё вопрос", "author_id": 16})
        for _ in range(100):
            if any(r["status"] == 403 for r in hook.call(lambda: list(receiver.received))):
                break
            await asyncio.sleep(0.05)
        problems = await conn.check()
        assert any("403" in p for p in problems) and db.count_messages("tg") == 2
        await conn.delete_webhook()
    polling = connector(server)
    [pending] = (await polling.fetch(None)).messages  # refused, so still pending: polling gets it
    assert pending.text == "Ещё вопрос" and pending.event == EventKind.NEW
    await conn.aclose()
    await polling.aclose()
