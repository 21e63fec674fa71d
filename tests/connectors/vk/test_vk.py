"""The VK connector against the public samples and the live VK emulator."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.base import SourceConfig
from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.vk.connector import VkConnector
from otklik.models import EventKind, Reply, Thread
from otklik.poller import poll_once
from sandbox.runner import serving
from sandbox.vk.emulator import GROUP_ID, VkEmulator

SAMPLES = Path(__file__).with_name("samples")
ERRORS = {"vk_error_5_auth.json": ("auth_failed", 5), "vk_error_14_captcha.json": ("auth_failed", 14)}


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.json")))
def test_every_sample_normalizes(name):
    r = subprocess.run([sys.executable, "-m", "otklik", "normalize", "--platform", "vk", str(SAMPLES / name)],
                       capture_output=True, text=True, timeout=60)
    if name in ERRORS:
        out = json.loads(r.stdout)
        assert r.returncode == 3 and (out["error"], out["code"]) == ERRORS[name]
        return
    assert r.returncode == 0, r.stderr
    messages = [json.loads(line) for line in r.stdout.splitlines()]
    if name in ("vk_bots_longpoll_failed_1.json", "vk_bots_longpoll_message_reply.json"):
        assert messages == []  # a gap notice and our own outgoing message carry no citizen message
    else:
        assert messages and all(m["platform"] == "vk" for m in messages)


def test_deleted_comments_and_threads_in_listings():
    data = json.loads((SAMPLES / "vk_wall_getComments_response.json").read_text())
    ids = [m.external_id for m in VkConnector.parse(data)]
    assert ids == ["comment:-69459624_482124", "comment:-69459624_482418"]  # the deleted one is skipped
    photo = VkConnector.parse(json.loads((SAMPLES / "vk_event_message_new_message_object_with_photo.json").read_text()))
    assert photo[0].attachments[0].type == "photo" and photo[0].attachments[0].url.startswith("https://")


@pytest.fixture
def vk():
    emulator = VkEmulator(long_poll_cap=0.2)
    with serving(emulator) as server:
        yield server, emulator


def connector(server, emulator, **secrets):
    cfg = SourceConfig(name="vk", platform="vk", base_url=server.url,
                       secrets={"token": emulator.demo_secrets()["token"], **secrets},
                       options={"group_id": GROUP_ID, "poll_wait": 0})
    return VkConnector(cfg)


async def test_long_poll_is_lossless_and_skips_our_own_comments(vk, db):
    server, emulator = vk
    conn = connector(server, emulator)
    await poll_once(conn, db)  # the first poll takes the stream's position ("from now on")
    first = server.call(emulator.inject, {"text": "Яма на Садовой", "author_id": 11})
    server.call(emulator.inject, {"text": "Прошу ответить", "where": "message", "author_id": 12})
    server.call(emulator.inject, {"text": "Предлагаю новость", "where": "post", "author_id": 13})
    await poll_once(conn, db)
    assert db.count_messages("vk") == 3
    thread = Thread(kind="wall_comment", ids={"owner_id": -GROUP_ID, "post_id": first["post_id"],
                                             "comment_id": first["comment_id"]})
    reply = Reply(id="reply-1", source="vk", platform="vk", thread=thread, text="Здравствуйте! Засыплем яму.")
    await conn.send(reply)
    server.call(emulator.inject, {"kind": "edit", "text": "Яма на Садовой, 12", **first})
    server.call(emulator.inject, {"kind": "delete", **first})
    result = await poll_once(conn, db)
    assert db.count_messages("vk") == 3  # our comment came back in the stream and was not stored
    assert (result.updated, result.deleted) == (1, 1)
    await conn.aclose()


async def test_replies_are_deduplicated_by_guid_and_random_id(vk):
    server, emulator = vk
    conn = connector(server, emulator)
    c = server.call(emulator.inject, {"text": "Нет света", "author_id": 21})
    m = server.call(emulator.inject, {"text": "Когда дадут воду?", "where": "message", "author_id": 22})
    comment = Reply(id="r-c", source="vk", platform="vk", text="Здравствуйте! Чиним.",
                    thread=Thread(kind="wall_comment", ids={"owner_id": -GROUP_ID, "post_id": c["post_id"],
                                                            "comment_id": c["comment_id"]}))
    message = Reply(id="r-m", source="vk", platform="vk", text="Здравствуйте! Завтра.",
                    thread=Thread(kind="message", ids={"peer_id": m["peer_id"]}))
    first = [await conn.send(comment), await conn.send(message)]
    again = [await conn.send(comment), await conn.send(message)]  # a retry after a crash
    assert [d.external_id for d in first] == [d.external_id for d in again]
    assert len(emulator.replies) == 2
    await conn.aclose()


async def test_failed_1_2_3(vk, db):
    server, emulator = vk
    conn = connector(server, emulator, service_token=emulator.demo_secrets()["service_token"])
    await poll_once(conn, db)
    server.call(emulator.inject, {"text": "первое", "author_id": 31})
    await poll_once(conn, db)
    emulator.key = "expired"  # failed 2: a new key, the same ts
    server.call(emulator.inject, {"text": "второе", "author_id": 32})
    await poll_once(conn, db)
    await poll_once(conn, db)
    assert db.count_messages("vk") == 2
    cursor = json.loads(db.get_cursor("vk"))
    emulator.events.clear()  # failed 1: history lost; the connector reconciles over REST
    server.call(emulator.inject, {"text": "пропущенное", "author_id": 33})
    emulator.events.clear()
    cursor["ts"] = "1"
    batch = await conn.fetch(json.dumps(cursor))
    assert "пропущенное" in [m.text for m in batch.messages]
    emulator.lose_next = True  # failed 3
    batch = await conn.fetch(db.get_cursor("vk"))
    assert batch.has_more and json.loads(batch.next_cursor)["key"] == emulator.key
    await conn.aclose()


async def test_errors_by_code(vk):
    server, emulator = vk
    conn = connector(server, emulator)
    emulator.faults.add({"kind": "5xx", "match": "/method/", "count": 1})
    emulator.faults.add({"kind": "malformed", "match": "/method/", "count": 1})
    with pytest.raises(Transient):
        await conn.client.call("groups.getById")
    with pytest.raises(Transient):
        await conn.client.call("groups.getById")
    emulator.captcha_next = True
    with pytest.raises(AuthFailed) as exc:
        await conn.client.call("groups.getById")
    assert exc.value.code == 14 and exc.value.alert
    with pytest.raises(AuthFailed) as exc:
        await conn.client.call("wall.get", owner_id=-GROUP_ID)  # a community token may not
    assert exc.value.code == 27 and exc.value.alert
    emulator.messages_blocked.add(77)
    with pytest.raises(Fatal):
        await conn.client.call("messages.send", peer_id=77, random_id=1, message="x")
    emulator.revoked.add(emulator.demo_secrets()["token"])
    with pytest.raises(AuthFailed):
        await conn.fetch(None)
    await conn.aclose()


async def test_rate_limit_error_6_and_our_limiter(vk):
    server, emulator = vk
    import httpx

    from connectors.ratelimit import LocalLimiter
    from connectors.vk.client import VkClient

    async with httpx.AsyncClient() as http:
        greedy = VkClient(http, emulator.demo_secrets()["token"], base_url=server.url, limiter=LocalLimiter(), rps=100)
        with pytest.raises(RateLimited):
            for _ in range(30):
                await greedy.call("groups.getById")
    emulator.rate.clear()
    emulator.rate_limited = 0
    conn = connector(server, emulator)  # 20 requests/s per community token, kept by the limiter
    for _ in range(45):
        await conn.client.call("groups.getById")
    assert emulator.rate_limited == 0
    await conn.aclose()


async def test_callback_api(vk):
    server, emulator = vk
    conn = connector(server, emulator, confirmation=emulator.callback["code"], callback_secret="cb-secret")
    confirm = await conn.handle_webhook(json.dumps({"type": "confirmation", "group_id": GROUP_ID}).encode(), {})
    assert confirm.body == emulator.callback["code"]
    event = {"type": "wall_reply_new", "group_id": GROUP_ID, "event_id": "e1", "v": "5.199", "secret": "cb-secret",
             "object": {"id": 5, "from_id": 9, "date": 1700000000, "text": "Нет воды", "post_owner_id": -GROUP_ID,
                        "post_id": 1}}
    ok = await conn.handle_webhook(json.dumps(event).encode(), {})
    assert ok.body == "ok" and ok.messages[0].event == EventKind.NEW
    again = await conn.handle_webhook(json.dumps(event).encode(), {"X-Retry-Counter": "1"})
    assert again.body == "ok" and again.messages == []  # event_id seen: nothing new
    with pytest.raises(AuthFailed):
        await conn.handle_webhook(json.dumps({**event, "event_id": "e2", "secret": "wrong"}).encode(), {})
    await conn.aclose()
