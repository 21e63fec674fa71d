"""The Telegram connector against the public samples and the live emulator, faults included."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.base import SourceConfig
from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.telegram.connector import TelegramConnector
from otklik.models import EventKind, Reply, Thread
from otklik.poller import poll_once
from sandbox.runner import serving
from sandbox.telegram.emulator import TOKEN, TelegramEmulator

SAMPLES = Path(__file__).with_name("samples")


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.json")))
def test_every_sample_normalizes(name):
    r = subprocess.run([sys.executable, "-m", "otklik", "normalize", "--platform", "telegram", str(SAMPLES / name)],
                       capture_output=True, text=True, timeout=60)
    if "error" in name:
        assert r.returncode == 3
        assert json.loads(r.stdout) | {"retry_after": 2282.0} == json.loads(r.stdout)
        assert json.loads(r.stdout)["error"] == "rate_limited"
        return
    assert r.returncode == 0, r.stderr
    messages = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(messages) == 1 and messages[0]["platform"] == "telegram" and messages[0]["text"]


def test_sample_shapes():
    edited = TelegramConnector.parse(json.loads((SAMPLES / "telegram_update_edited_message_official.json").read_text()))[0]
    assert edited.event == EventKind.EDIT and edited.external_id == "1111111:1365" and edited.edited_at
    thread = TelegramConnector.parse(json.loads((SAMPLES / "telegram_update_supergroup_reply_thread.json").read_text()))[0]
    assert thread.thread.ids["message_thread_id"] == 134545
    assert thread.reply_to == "-1001293752024:134545"
    assert thread.url == "https://t.me/cryptoinside_talk/134546"


@pytest.fixture
def tg():
    emulator = TelegramEmulator(long_poll_cap=0.2)
    with serving(emulator) as server:
        yield server, emulator


def connector(server, **options):
    cfg = SourceConfig(name="tg", platform="telegram", base_url=server.url, secrets={"token": TOKEN},
                       options={"poll_timeout": 0, **options})
    return TelegramConnector(cfg)


async def test_offsets_confirm_only_what_was_stored(tg, db):
    server, emulator = tg
    for i in range(3):
        server.call(emulator.inject, {"text": f"сообщение {i}", "author_id": 10 + i})
    conn = connector(server)
    batch = await conn.fetch(None)
    assert len(batch.messages) == 3
    # A crash before storing: asking again with the old cursor returns the same updates.
    assert len((await conn.fetch(None)).messages) == 3
    await poll_once(conn, db)
    await poll_once(conn, db)  # the second poll confirms the first batch and finds nothing new
    assert db.count_messages("tg") == 3
    assert (await conn.fetch(db.get_cursor("tg"))).messages == []
    await conn.aclose()


async def test_duplicates_edits_and_own_replies(tg, db):
    server, emulator = tg
    emulator.faults.add({"kind": "duplicate", "match": "inject", "count": 1})
    first = server.call(emulator.inject, {"text": "Нет света", "author_id": 5})
    conn = connector(server)
    await poll_once(conn, db)
    assert db.count_messages("tg") == 1  # re-delivered update recognised by its external id
    server.call(emulator.inject, {"kind": "edit", "text": "Нет света на улице Мира", **first})
    sent = await conn.send(Reply(id="r1", source="tg", platform="telegram", text="Здравствуйте! Чиним.",
                                 thread=Thread(kind="chat", ids={"chat_id": first["chat_id"],
                                                                 "message_id": first["message_id"]})))
    result = await poll_once(conn, db)
    assert result.updated == 1 and db.count_messages("tg") == 1  # our reply is not a citizen message
    assert emulator.replies[0]["reply_to"] == f"{first['chat_id']}:{first['message_id']}"
    assert sent.external_id.startswith(str(first["chat_id"]))
    await conn.aclose()


async def test_channel_comments_through_the_discussion_group(tg):
    server, emulator = tg
    server.call(emulator.inject, {"text": "А когда на нашей улице?", "chat": "channel_comment"})
    batch = await connector(server).fetch(None)
    [comment] = batch.messages  # the automatic forward of the post is not a citizen message
    assert comment.reply_to and comment.thread.ids["message_thread_id"]


async def test_errors_are_classified_by_code(tg):
    server, emulator = tg
    conn = connector(server)
    for kind, error in (("5xx", Transient), ("malformed", Transient), ("429", RateLimited)):
        emulator.faults.add({"kind": kind, "match": "getUpdates", "count": 1, "retry_after": 7})
        with pytest.raises(error) as exc:
            await conn.fetch(None)
        if kind == "429":
            assert exc.value.retry_after == 7
    server.call(emulator.blocked_chats.add, 42)
    server.call(emulator.inject, {"text": "x", "author_id": 42})
    with pytest.raises(Fatal):
        await conn.send(Reply(id="r", source="tg", platform="telegram", text="ответ",
                              thread=Thread(kind="chat", ids={"chat_id": 42, "message_id": 1})))
    server.call(emulator.revoke)
    with pytest.raises(AuthFailed):
        await conn.fetch(None)
    assert await conn.check()  # `otklik sources check` says what is wrong
    await conn.aclose()


async def test_second_poller_gets_conflict(tg):
    server, emulator = tg
    emulator.long_poll_cap = 1.0
    import asyncio

    a, b = connector(server, poll_timeout=1), connector(server, poll_timeout=1)
    first = asyncio.create_task(a.fetch(None))
    await asyncio.sleep(0.2)
    second = asyncio.create_task(b.fetch(None))
    with pytest.raises(Transient):  # 409: terminated by the other getUpdates request
        await first
    await second
    await a.aclose()
    await b.aclose()


async def test_webhook_requires_the_secret(tg):
    server, emulator = tg
    cfg = SourceConfig(name="tg", platform="telegram", base_url=server.url,
                       secrets={"token": TOKEN, "webhook_secret": "s3"}, options={"webhook": True})
    conn = TelegramConnector(cfg)
    update = json.dumps({"update_id": 1, "message": {"message_id": 1, "date": 1700000000, "text": "Нет воды",
                                                     "chat": {"id": 5, "type": "private"},
                                                     "from": {"id": 5, "is_bot": False, "first_name": "А"}}})
    with pytest.raises(AuthFailed):
        await conn.handle_webhook(update.encode(), {"X-Telegram-Bot-Api-Secret-Token": "wrong"})
    ok = await conn.handle_webhook(update.encode(), {"X-Telegram-Bot-Api-Secret-Token": "s3"})
    assert ok.messages[0].text == "Нет воды"
    await conn.aclose()


async def test_sending_respects_the_per_chat_limit(tg):
    server, emulator = tg
    created = server.call(emulator.inject, {"text": "вопрос", "author_id": 77})
    conn = connector(server)
    thread = Thread(kind="chat", ids={"chat_id": created["chat_id"], "message_id": created["message_id"]})
    for i in range(3):  # 1 message/s per chat: our limiter waits instead of provoking a 429
        await conn.send(Reply(id=f"r{i}", source="tg", platform="telegram", text=f"ответ {i}", thread=thread))
    assert emulator.rate_limited == 0 and len(emulator.replies) == 3
    await conn.aclose()
