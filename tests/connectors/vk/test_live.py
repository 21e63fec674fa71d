"""The VK connector against the live emulator (real HTTP on 127.0.0.1), faults included."""

import asyncio
import json

import httpx
import pytest
from aiohttp import web

from connectors.base import SourceConfig
from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.ratelimit import LocalLimiter
from connectors.vk.client import VkClient
from connectors.vk.connector import Cursor, VkConnector
from otklik.models import Reply, Thread
from otklik.poller import poll_once
from sandbox.runner import serving
from sandbox.vk.emulator import COMMUNITY_TOKEN, SERVICE_TOKEN, USER_TOKEN, VkEmulator
from sandbox.vk.world import GROUP_ID


class Clock:
    def __init__(self) -> None:
        self.now = 1_767_250_800.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def vk():
    emulator = VkEmulator(long_poll_cap=0.2, callback_delays=(0.05, 0.05, 0.05))
    with serving(emulator) as server:
        yield server, emulator


def connector(server, *, secrets=None, http=None, **options) -> VkConnector:
    cfg = SourceConfig(
        name="vk",
        platform="vk",
        base_url=server.url,
        secrets=secrets
        or {
            "token": COMMUNITY_TOKEN,
            "service_token": SERVICE_TOKEN,
            "user_token": USER_TOKEN,
            "callback_secret": "s3cret",
        },
        options={"group_id": GROUP_ID, "wait": 0, "read_backoff": 0.01, **options},
    )
    return VkConnector(cfg, client=http)


def reply(m, text: str, rid: str | None = None) -> Reply:
    return Reply(id=rid or f"r-{m.external_id}", source="vk", platform="vk", thread=m.thread, text=text)


async def drain(conn, db):
    for _ in range(50):
        result = await poll_once(conn, db)
        if not result.has_more:
            return


async def test_lossless_stream_with_edits_deletions_and_our_own_replies(vk, db):
    server, emulator = vk
    conn = connector(server)
    await drain(conn, db)  # takes the stream's position
    made = [
        server.call(
            emulator.inject,
            {
                "text": f"Обращение {where}",
                "where": where,
                "author_id": 10 + i,
                "author_name": f"Житель{i} Тестов",
            },
        )
        for i, where in enumerate(("comment", "post", "board", "message"))
    ]
    made.append(
        server.call(
            emulator.inject,
            {
                "text": "И у нас так же",
                "where": "reply",
                "author_id": 20,
                "comment_id": made[0]["comment_id"],
            },
        )
    )
    batch = await conn.fetch(db.get_cursor("vk"))  # what poll_once does: fetch, then store
    db.ingest("vk", batch)
    assert db.count_messages("vk") == 5 and [m.external_id for m in batch.messages] == [c["id"] for c in made]
    for m in batch.messages:  # the worker answers each in its own thread
        await conn.send(reply(m, "Здравствуйте! Разберёмся."))
    server.call(emulator.inject, {"kind": "edit", "text": "Обращение comment, дом 5", **made[0]})
    server.call(emulator.inject, {"kind": "delete", **made[4]})
    result = await poll_once(conn, db)  # our five replies come back in the stream too
    assert (result.new, result.updated, result.deleted) == (0, 1, 1)
    assert db.count_messages("vk") == 5
    targets = [r["reply_to"] for r in emulator.replies]
    assert targets == [c["id"] for c in made]  # every reply landed under the message it answers
    board = next(r for r in emulator.replies if r["method"] == "board.createComment")
    assert board["text"].startswith(f"[post{made[2]['comment_id']}|Житель2], ")  # VK's board "reply"
    await conn.aclose()


async def test_duplicate_delivery_is_recognised_by_external_id(vk, db):
    server, emulator = vk
    conn = connector(server)
    await drain(conn, db)
    emulator.faults.add({"kind": "duplicate", "match": "inject", "count": 1})
    server.call(emulator.inject, {"text": "Нет света", "where": "comment", "author_id": 5})
    batch = await conn.fetch(db.get_cursor("vk"))
    assert len(batch.messages) == 2 and batch.messages[0].raw == batch.messages[1].raw
    db.ingest("vk", batch)
    assert db.count_messages("vk") == 1
    await conn.aclose()


async def test_read_faults_are_classified_and_retried(vk):
    server, emulator = vk
    conn = connector(server)
    emulator.faults.add({"kind": "5xx", "match": "/method/", "count": 1})
    assert (await conn.fetch(None)).next_cursor  # one 502, retried
    emulator.faults.add({"kind": "5xx", "match": "/method/", "count": None})
    with pytest.raises(Transient) as exc:
        await connector(server).fetch(None)
    assert exc.value.code == 502 and len([f for f in emulator.faults.fired if f[0] == "5xx"]) == 4
    emulator.faults.clear()
    emulator.faults.add({"kind": "malformed", "match": "/method/", "count": None})
    with pytest.raises(Transient):
        await connector(server).fetch(None)
    emulator.faults.clear()
    emulator.faults.add({"kind": "429", "match": "/method/", "count": 1})
    with pytest.raises(RateLimited) as exc:
        await connector(server).fetch(None)
    assert exc.value.code == 6 and exc.value.retry_after == 1.0
    emulator.faults.add({"kind": "auth", "match": "/method/", "count": 1})
    with pytest.raises(AuthFailed):
        await connector(server).fetch(None)
    await conn.aclose()


async def test_timeouts_are_transient(vk):
    server, emulator = vk
    async with httpx.AsyncClient(timeout=0.3) as http:
        conn = connector(server, http=http, read_attempts=2)
        cursor = (await conn.fetch(None)).next_cursor
        emulator.faults.add({"kind": "timeout", "match": "/whp/", "count": 2, "delay": 1.0})
        with pytest.raises(Transient):
            await conn.fetch(cursor)
        assert (await conn.fetch(cursor)).next_cursor  # the server answers again: no harm done


async def test_revoked_token_wrong_token_type_and_check(vk):
    server, emulator = vk
    conn = connector(server, secrets={"token": COMMUNITY_TOKEN, "service_token": COMMUNITY_TOKEN})
    assert any("REST token" in p and "wrong token type" in p for p in await conn.check())
    assert any("user_token" in p for p in await conn.check())
    board = Reply(
        id="b",
        source="vk",
        platform="vk",
        text="Ответ",
        thread=Thread(kind="board", ids={"group_id": GROUP_ID, "topic_id": 40_000_001, "comment_id": 1}),
    )
    with pytest.raises(AuthFailed) as exc:
        await conn.send(board)  # board.createComment takes user tokens only: refused before calling
    assert exc.value.code == 27 and exc.value.alert
    emulator.lp_settings["events"]["wall_reply_edit"] = 0
    assert any("wall_reply_edit" in p for p in await conn.check())
    emulator.revoke(COMMUNITY_TOKEN)
    with pytest.raises(AuthFailed) as exc:
        await conn.fetch(None)
    assert exc.value.code == 5
    assert (await conn.check())[0].startswith("community token")
    await conn.aclose()


async def test_write_errors(vk):
    server, emulator = vk
    conn = connector(server)
    msg = server.call(emulator.inject, {"text": "Вопрос", "where": "message", "author_id": 33})
    thread = Thread(
        kind="message", ids={"peer_id": 33, "conversation_message_id": msg["conversation_message_id"]}
    )
    emulator.force_error(14, "messages.send")
    with pytest.raises(AuthFailed) as exc:
        await conn.send(Reply(id="a", source="vk", platform="vk", thread=thread, text="Ответ"))
    assert exc.value.code == 14 and exc.value.alert
    emulator.force_error(10, "messages.send")
    with pytest.raises(Transient):  # writes are not retried here: the worker owns that
        await conn.send(Reply(id="a", source="vk", platform="vk", thread=thread, text="Ответ"))
    emulator.deny_messages(33)
    with pytest.raises(Fatal) as exc:
        await conn.send(Reply(id="a", source="vk", platform="vk", thread=thread, text="Ответ"))
    assert exc.value.code == 901
    emulator.flood_per_minute = 0
    comment = server.call(emulator.inject, {"text": "Яма", "where": "comment", "author_id": 34})
    wall = Thread(kind="wall", ids={k: comment[k] for k in ("owner_id", "post_id", "comment_id")})
    with pytest.raises(RateLimited) as exc:
        await conn.send(Reply(id="w", source="vk", platform="vk", thread=wall, text="Засыплем"))
    assert exc.value.code == 9
    emulator.daily_quota = {"wall.get": 0}
    with pytest.raises(RateLimited) as exc:
        await conn.rest.call("wall.get", owner_id=-GROUP_ID)
    assert exc.value.code == 29 and exc.value.retry_after > 60
    assert emulator.replies == []
    await conn.aclose()


async def test_sends_are_idempotent_and_found_again_after_the_window():
    clock = Clock()
    emulator = VkEmulator(clock=clock, long_poll_cap=0.1)
    with serving(emulator) as server:
        conn = connector(server)
        c = server.call(emulator.inject, {"text": "Нет воды", "where": "comment", "author_id": 21})
        m = server.call(emulator.inject, {"text": "Когда?", "where": "message", "author_id": 22})
        wall = Reply(
            id="r-c",
            source="vk",
            platform="vk",
            text="Завтра.",
            thread=Thread(kind="wall", ids={k: c[k] for k in ("owner_id", "post_id", "comment_id")}),
        )
        msg = Reply(
            id="r-m",
            source="vk",
            platform="vk",
            text="Завтра.",
            thread=Thread(kind="message", ids={"peer_id": 22, "conversation_message_id": 1}),
        )
        assert await conn.find_posted(wall) is None and await conn.find_posted(msg) is None
        first = [await conn.send(wall), await conn.send(msg)]
        again = [await conn.send(wall), await conn.send(msg)]  # a retry after a crash
        assert [d.external_id for d in first] == [d.external_id for d in again] and len(emulator.replies) == 2
        clock.now += 2 * 3600  # VK forgets guid/random_id after an hour: the worker reads back first
        found = [await conn.find_posted(wall), await conn.find_posted(msg)]
        assert [d.external_id for d in found] == [d.external_id for d in first]
        assert all(d.already_posted for d in found) and m["peer_id"] == 22
        await conn.aclose()


async def test_our_limiter_keeps_under_vk_limits(vk):
    server, emulator = vk
    async with httpx.AsyncClient() as http:
        greedy = VkClient(http, COMMUNITY_TOKEN, base_url=server.url, limiter=LocalLimiter(), rps=100)
        with pytest.raises(RateLimited):
            for _ in range(30):
                await greedy.call("groups.getById")
    emulator.windows.clear()
    emulator.peak_rps.clear()
    emulator.rate_limited = 0
    conn = connector(server)
    await asyncio.gather(
        *(conn.community.call("groups.getById") for _ in range(40)),
        *(conn.rest.call("groups.getById", group_id=GROUP_ID) for _ in range(5)),
    )
    assert emulator.rate_limited == 0
    assert emulator.peak_rps["community"] <= 20 and emulator.peak_rps["service"] <= 3
    await conn.aclose()


async def test_failed_2_1_3_live(vk, db):
    server, emulator = vk
    conn = connector(server)
    await drain(conn, db)
    emulator.expire_keys()
    server.call(emulator.inject, {"text": "после смены ключа", "where": "message", "author_id": 41})
    await drain(conn, db)
    assert db.count_messages("vk") == 1
    emulator.drop_history()
    server.call(emulator.inject, {"text": "потерянное", "where": "comment", "author_id": 42})
    server.call(emulator.inject, {"text": "потерянное в обсуждении", "where": "board", "author_id": 43})
    emulator.drop_history()
    await drain(conn, db)
    assert db.count_messages("vk") == 3  # failed 1: reconciled over REST
    server.call(emulator.inject, {"text": "перед потерей", "where": "post", "author_id": 44})
    emulator.lose_info()
    await drain(conn, db)
    assert db.count_messages("vk") == 4  # failed 3: a new key and ts, reconciled
    assert Cursor.load(db.get_cursor("vk")).reconcile is None
    await conn.aclose()


async def test_without_a_rest_token_only_messages_are_reconciled(vk, db):
    server, emulator = vk
    conn = connector(server, secrets={"token": COMMUNITY_TOKEN})
    await drain(conn, db)
    emulator.drop_history()
    server.call(emulator.inject, {"text": "в личку", "where": "message", "author_id": 51})
    server.call(emulator.inject, {"text": "на стену", "where": "comment", "author_id": 52})
    emulator.drop_history()
    await drain(conn, db)
    assert db.count_messages("vk") == 1
    assert "wall.get" not in emulator.by_method
    await conn.aclose()


async def test_callback_api_delivery(vk):
    server, emulator = vk
    conn = connector(server, mode="callback", secrets={"token": COMMUNITY_TOKEN, "callback_secret": "s3cret"})
    got: list = []
    fail = {"left": 1}

    async def webhook(request: web.Request) -> web.Response:
        body = await request.read()
        if json.loads(body)["type"] != "confirmation" and fail["left"]:
            fail["left"] -= 1
            return web.Response(status=500, text="down")
        result = await conn.handle_webhook(body, request.headers)
        got.extend(result.messages)
        return web.Response(status=result.status, text=result.body)

    class Hook:
        name = "hook"

        def build_app(self):
            app = web.Application()
            app.router.add_post("/webhooks/vk", webhook)
            return app

    with serving(Hook()) as hook:  # type: ignore[arg-type]
        async with httpx.AsyncClient() as admin:
            r = await admin.post(
                f"{server.url}/_sandbox/vk/callback",
                json={"url": f"{hook.url}/webhooks/vk", "secret": "s3cret"},
            )
        assert r.json()["confirmed"]
        emulator.faults.add({"kind": "duplicate", "match": "inject", "count": 1})
        server.call(emulator.inject, {"text": "Нет отопления", "where": "message", "author_id": 61})
        for _ in range(100):
            if len(got) >= 2:
                break
            await asyncio.sleep(0.05)
    assert [m.text for m in got] == ["Нет отопления"] * 2  # the duplicate is handed on; the store dedupes
    attempts = [(e["attempt"], e["status"]) for e in emulator.callback_log]
    assert attempts[:2] == [(0, 500), (1, 200)]  # repeated with X-Retry-Counter until "ok"
    assert len({e["event_id"] for e in emulator.callback_log}) == 1 and all(
        conn.is_repeat(e["event_id"]) for e in emulator.callback_log
    )
    assert (await conn.fetch(None)).next_cursor  # callback mode: fetch only takes the position
    await conn.aclose()
