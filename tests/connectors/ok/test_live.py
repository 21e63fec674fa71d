"""The OK connector against the live emulator over real HTTP, with storage: cursors, duplicates,
own replies, deletions and edits, every injected fault, limits, read-back before a retry."""

import asyncio
import ipaddress
import json

import httpx
import pytest

from connectors.base import SourceConfig
from connectors.errors import AuthFailed, Malformed, RateLimited, Transient
from connectors.ok.connector import OkConnector
from connectors.ok.cursor import Cursor
from otklik.models import Batch, EventKind, Reply, Thread
from otklik.poller import poll_once
from sandbox.ok.emulator import OkEmulator
from sandbox.runner import serving


@pytest.fixture
def ok():
    emulator = OkEmulator(rps_limit=1000)
    with serving(emulator) as server:
        yield server, emulator


def connector(
    server, emulator, *, http: httpx.AsyncClient | None = None, bot: bool = True, **options
) -> OkConnector:
    secrets = {k: v for k, v in emulator.demo_secrets().items() if bot or k != "bot_token"}
    cfg = SourceConfig(
        name="ok",
        platform="ok",
        base_url=server.url,
        secrets=secrets,
        options={**emulator.demo_options(), "retry_wait": 0, "rps": 50, "bot_rps": 50, **options},
    )
    return OkConnector(cfg, client=http)


def comment_reply(created: dict, text: str, rid: str = "r1") -> Reply:
    return Reply(
        id=rid,
        source="ok",
        platform="ok",
        text=text,
        thread=Thread(
            kind="discussion",
            ids={
                "discussion_id": created["discussion_id"],
                "discussion_type": "GROUP_TOPIC",
                "comment_id": created["id"],
            },
        ),
    )


async def test_cursor_moves_only_with_what_was_stored(ok, db):
    server, emulator = ok
    for i in range(3):
        server.call(emulator.inject, {"text": f"Комментарий {i}", "author_id": 100 + i})
    server.call(emulator.inject, {"text": "Вопрос в чате", "target": "chat", "author_id": 110})
    conn = connector(server, emulator)
    first = await conn.fetch(None)
    assert len(first.messages) == 4
    assert len((await conn.fetch(None)).messages) == 4  # a crash before storing: the same batch again
    await poll_once(conn, db)
    assert db.count_messages("ok") == 4
    assert (await poll_once(conn, db)).new == 0
    server.call(emulator.inject, {"text": "Ещё один", "author_id": 104})
    assert (await poll_once(conn, db)).new == 1
    await conn.aclose()


async def test_unchanged_topics_cost_no_comment_calls(ok):
    server, emulator = ok
    server.call(emulator.inject, {"text": "первый", "author_id": 120})
    conn = connector(server, emulator)
    cursor = (await conn.fetch(None)).next_cursor
    before = len(emulator.calls)
    await conn.fetch(cursor)
    # getTopics + chats list only: no getComments, no chat history for chats that did not move.
    assert len(emulator.calls) - before == 2
    await conn.aclose()


async def test_duplicates_and_own_replies_are_not_citizen_messages(ok, db):
    server, emulator = ok
    emulator.faults.add({"kind": "duplicate", "match": "inject", "count": 2})
    c = server.call(emulator.inject, {"text": "Нет света на Лесной", "author_id": 130})
    conn = connector(server, emulator)
    await poll_once(conn, db)
    server.call(emulator.inject, {"text": "И у нас нет", "author_id": 131})
    chat = server.call(emulator.inject, {"text": "В чате тоже", "target": "chat", "author_id": 132})
    await poll_once(conn, db)  # the first comment is served a second time: recognised by its id
    assert db.count_messages("ok") == 3
    await conn.send(comment_reply(c, "Здравствуйте! Бригада выехала."))
    await conn.send(
        Reply(id="r2", source="ok", platform="ok", text="Ответ в чат", thread=Thread(kind="chat", ids=chat))
    )
    result = await poll_once(conn, db)
    assert result.new == 0 and db.count_messages("ok") == 3  # our comment and chat message are skipped
    assert emulator.replies[0]["reply_to_comment_id"] == c["id"] and emulator.replies[0]["as_admin"] is True
    await conn.aclose()


async def test_deletions_and_edits_through_the_rescan(ok, db):
    server, emulator = ok
    a = server.call(emulator.inject, {"text": "Удалю это", "author_id": 140})
    b = server.call(emulator.inject, {"text": "Исправлю это", "author_id": 141})
    conn = connector(server, emulator, rescan_every=2)
    await poll_once(conn, db)  # poll 0 rescans nothing new; the cursor remembers both
    server.call(emulator.inject, {"kind": "delete", "id": a["id"]})
    result = await poll_once(conn, db)  # the count dropped: rescan, DELETE
    assert result.deleted == 1
    server.call(emulator.inject, {"kind": "edit", "id": b["id"], "text": "Исправила: не работает фонарь"})
    assert (await poll_once(conn, db)).updated == 1  # poll 2: the periodic rescan sees the new text
    await conn.aclose()


async def test_first_sync_skips_history_older_than_backfill(ok):
    server, emulator = ok
    emulator.clock = lambda: 1_600_000_000.0  # "years ago"
    server.call(emulator.inject, {"text": "старый", "author_id": 150})
    server.call(emulator.inject, {"text": "старая тема", "target": "topic", "author_id": 151})
    import time as _time

    emulator.clock = _time.time
    server.call(emulator.inject, {"text": "свежий", "author_id": 152})
    batch = await connector(server, emulator, backfill_hours=24, bot=False).fetch(None)
    assert [m.text for m in batch.messages] == ["свежий"]


async def test_many_topics_are_paged(ok):
    server, emulator = ok
    for i in range(120):
        server.call(emulator.post_topic, f"Тема {i}", "160")
    batch = await connector(server, emulator, topics_window=150).fetch(None)
    assert len([m for m in batch.messages if m.external_id.startswith("topic:")]) == 120


async def test_busy_chat_is_read_without_gaps(ok):
    server, emulator = ok
    conn = connector(server, emulator, max_pages=1)
    cursor = (await conn.fetch(None)).next_cursor
    for i in range(250):
        server.call(emulator.inject, {"text": f"сообщение {i}", "target": "chat", "author_id": 170 + i % 5})
    texts: list[str] = []
    polls = 0
    while polls < 5:  # a backlog larger than one poll's pages (max_pages=1): the rest at once
        polls += 1
        batch = await conn.fetch(cursor)
        texts += [m.text for m in batch.messages]
        cursor = batch.next_cursor
        if not batch.has_more:
            break
    assert polls > 1 and len(texts) == 250 and set(texts) == {f"сообщение {i}" for i in range(250)}
    assert (await conn.fetch(cursor)).messages == []
    await conn.aclose()


@pytest.mark.parametrize(
    ("kind", "match", "error"),
    [
        ("5xx", "fb.do", Transient),
        ("malformed", "fb.do", Transient),
        ("429", "fb.do", RateLimited),
        ("auth", "fb.do", AuthFailed),
        ("5xx", "graph", Transient),
        ("429", "graph", RateLimited),
    ],
)
async def test_faults_are_classified(ok, kind, match, error):
    server, emulator = ok
    emulator.faults.add({"kind": kind, "match": match, "count": None, "retry_after": 6})
    conn = connector(server, emulator, flood_retry_after=2)
    with pytest.raises(error) as exc:
        await conn.fetch(None)
    if error is RateLimited:
        assert exc.value.retry_after == (6 if match == "graph" else 2)
    await conn.aclose()


async def test_one_transient_read_is_retried(ok):
    server, emulator = ok
    emulator.faults.add({"kind": "5xx", "match": "fb.do", "count": 1})
    server.call(emulator.inject, {"text": "дойдёт", "author_id": 180})
    batch = await connector(server, emulator, read_attempts=3).fetch(None)
    assert [m.text for m in batch.messages] == ["дойдёт"] and emulator.faults.fired == [("5xx", "/fb.do")]


async def test_timeout_and_revoked_token(ok):
    server, emulator = ok
    emulator.faults.add({"kind": "timeout", "match": "fb.do", "count": 1, "delay": 1.0})
    async with httpx.AsyncClient(timeout=0.2) as http:
        with pytest.raises(Transient):
            await connector(server, emulator, http=http, read_attempts=1).fetch(None)
    server.call(emulator.revoke)
    conn = connector(server, emulator)
    with pytest.raises(AuthFailed) as exc:
        await conn.fetch(None)
    assert exc.value.code == 102
    assert any("session" in p.lower() for p in await conn.check())
    await conn.aclose()


async def test_a_send_that_timed_out_is_found_not_repeated(ok):
    server, emulator = ok
    c = server.call(emulator.inject, {"text": "Когда уберут снег?", "author_id": 190})
    reply = comment_reply(c, "Здравствуйте!  Снег уберут сегодня.")
    emulator.faults.add({"kind": "slow", "match": "fb.do", "count": 1, "delay": 0.6})
    async with httpx.AsyncClient(timeout=0.2) as http:
        conn = connector(server, emulator, http=http)
        with pytest.raises(Transient):
            await conn.send(reply)  # the comment is posted, but we never heard back
        await asyncio.sleep(0.7)
        again = await conn.send(reply)  # the worker's retry: read back first
    assert again.already_posted and len(emulator.replies) == 1
    assert again.external_id == emulator.replies[0]["comment_id"]
    fresh = connector(server, emulator)  # another worker, after a crash: find_posted
    assert (await fresh.find_posted(reply)).external_id == again.external_id
    assert await fresh.find_posted(reply.model_copy(update={"text": "Другой текст"})) is None
    other = server.call(emulator.inject, {"text": "И у нас", "author_id": 191})
    assert await fresh.find_posted(comment_reply(other, reply.text)) is None  # answers another comment
    await fresh.aclose()


async def test_rate_limit_is_kept_before_ok_complains():
    emulator = OkEmulator(rps_limit=4)
    with serving(emulator) as server:
        server.call(emulator.inject, {"text": "x", "author_id": 200})
        conn = connector(server, emulator, rps=3, bot=False)
        cursor = None
        for _ in range(8):
            cursor = (await conn.fetch(cursor)).next_cursor
        assert emulator.rate_limited == 0 and len(emulator.calls) == 9
        # The same polling without our limit: OK would have complained.
        fast = connector(server, emulator, rps=1000, bot=False)
        with pytest.raises(RateLimited):
            for _ in range(8):
                await fast.fetch(cursor)
        assert emulator.rate_limited > 0
        await conn.aclose()
        await fast.aclose()


async def test_check(ok):
    server, emulator = ok
    assert await connector(server, emulator).check() == []
    problems = await connector(server, emulator, group_id="123").check()
    assert any("123" in p for p in problems)
    problems = await connector(server, emulator, webhook=True, webhook_url="http://127.0.0.1:9/hook").check()
    assert any("not subscribed" in p for p in problems)
    assert any("webhook_path" in p for p in problems)  # OK signs nothing: the path token is required


async def test_webhook_mode_does_not_poll_chats(ok):
    server, emulator = ok
    server.call(emulator.inject, {"text": "в чат", "target": "chat", "author_id": 210})
    conn = connector(server, emulator, webhook=True)
    assert (await conn.fetch(None)).messages == []
    body = emulator.group_chat.messages[-1].wire(with_name=False)

    result = await conn.handle_webhook(json.dumps(body).encode(), {})
    assert [m.text for m in result.messages] == ["в чат"] and result.status == 200
    # The sender's address is checked by the daemon (tests/otklik/test_webhooks.py); the connector
    # says which networks: OK's published ones with webhook_check_ip, on top of webhook_allowed_ips.
    checked = connector(server, emulator, webhook=True, webhook_check_ip=True, webhook_allowed_ips=["10.1.0.0/16"])
    nets = checked.webhook_networks()
    assert any(ipaddress.ip_address("217.20.151.161") in n for n in nets)
    assert any(ipaddress.ip_address("10.1.2.3") in n for n in nets)
    assert not any(ipaddress.ip_address("10.0.0.1") in n for n in nets)
    assert conn.webhook_networks() == []
    # Events we cannot use are acknowledged (OK unsubscribes a webhook that keeps failing); a body
    # that is not a JSON object is not something OK sends: Malformed, which the daemon answers 400.
    ignored = await conn.handle_webhook(json.dumps({"chat_control": {"title": "Новое название"}}).encode(), {})
    assert ignored.status == 200 and ignored.messages == []
    for junk in (b"not json", b"null", b"[1, 2]", b"[" * 100_000, b"\xff\xfe"):
        with pytest.raises(Malformed):
            await conn.handle_webhook(junk, {})


def test_cursor_round_trip():
    assert Cursor.load(None) is None and Cursor.load("{broken") is None
    c = Cursor(h=1, since=2, polls=3)
    assert Cursor.load(c.dump()) == c
    assert Batch(next_cursor=c.dump()).next_cursor == '{"v":1,"h":1,"since":2,"polls":3}'
    assert EventKind.DELETE == "delete"
