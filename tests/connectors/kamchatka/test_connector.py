"""The «Камчатка в порядке» connector against the live mock: the feed into the database, answers
with photos and idempotency, extension requests, the coordinator's and users' reactions as status
changes, and every fault the mock injects."""

import httpx
import pytest

from connectors.base import SourceConfig
from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.kamchatka.connector import KamchatkaConnector
from connectors.kamchatka.mapping import answer_body, extension_body
from otklik.models import Attachment, EventKind, Platform, Reply, Thread
from otklik.poller import poll_once
from sandbox.kamchatka.emulator import KamchatkaEmulator
from sandbox.runner import serving

PHOTO = [Attachment(type="photo", url="https://example.org/after.jpg")]


@pytest.fixture
def kvp():
    emulator = KamchatkaEmulator(rps_limit=50)
    with serving(emulator) as server:
        yield server, emulator


def connector(server, emulator, client: httpx.AsyncClient | None = None, **options) -> KamchatkaConnector:
    cfg = SourceConfig(
        name="kvp",
        platform="kamchatka",
        base_url=server.url,
        secrets=emulator.demo_secrets(),
        options={"read_attempts": 2, "retry_wait": 0.01, "rps": 40, **options},
    )
    return KamchatkaConnector(cfg, client=client)


def reply(message: int, rid: str = "reply-1", **kw) -> Reply:
    return Reply(
        id=rid,
        source="kvp",
        platform=Platform.KAMCHATKA,
        thread=Thread(kind="message", ids={"message_id": message}),
        text=kw.pop("text", "Здравствуйте! Яму засыпали, фото прилагаем."),
        **kw,
    )


async def test_messages_carry_category_deadline_fast_track_and_the_esia_user(kvp):
    server, emulator = kvp
    server.call(
        emulator.inject,
        {
            "text": "Упало дерево",
            "group": "Благоустройство",
            "topic": "Деревья",
            "fast_track_days": 2,
            "photos": 1,
            "author_name": "Иван Смирнов",
        },
    )
    [m] = (await connector(server, emulator).fetch(None)).messages
    assert (m.platform_topic_group, m.platform_topic, m.fast_track, m.event) == (
        "Благоустройство",
        "Деревья",
        True,
        EventKind.NEW,
    )
    assert m.author.name == "Иван С." and m.author.id.startswith("10")
    assert m.attachments[0].type == "photo" and m.platform_deadline > m.created_at
    assert m.thread.ids == {"message_id": int(m.external_id)} and m.url.endswith(f"/messages/{m.external_id}")


async def test_sync_edits_withdrawals_and_duplicates_through_the_database(kvp, db):
    server, emulator = kvp
    ids = [server.call(emulator.inject, {"text": f"Сообщение {i}"})["id"] for i in range(5)]
    conn = connector(server, emulator, limit=2)
    results = [await poll_once(conn, db)]
    while results[-1].has_more:
        results.append(await poll_once(conn, db))
    assert sum(r.new for r in results) == 5 and db.count_messages("kvp") == 5
    server.call(emulator.inject, {"kind": "edit", "id": ids[0], "text": "Сообщение 0, дополнено"})
    server.call(emulator.inject, {"kind": "delete", "id": ids[1]})
    emulator.faults.add({"kind": "duplicate", "match": "/messages"})
    changed = await poll_once(conn, db)
    assert (changed.updated, changed.deleted, changed.new) == (1, 1, 0)
    assert (await poll_once(conn, db)).new == 0 and db.count_messages("kvp") == 5
    await conn.aclose()


async def test_answers_extensions_and_feedback_become_status_changes(kvp, db):
    server, emulator = kvp
    a, b, c = (server.call(emulator.inject, {"text": t})["id"] for t in ("Яма", "Мост", "Свалка"))
    conn = connector(server, emulator)
    await poll_once(conn, db)
    ext = await conn.request_extension(str(b), 8, "Нужна техника из Петропавловска")
    assert ext["state"] == "pending" and (await conn.request_extension(str(b), 8, "Нужна техника")) == ext
    await conn.request_extension(str(c), 3, "Ждём подрядчика")
    server.call(emulator.decide_extension, b, True)
    server.call(emulator.decide_extension, c, False, "Срок не продлевается")
    for mid in (a, c):
        await conn.send(reply(mid, f"r{mid}", attachments=PHOTO))
    server.call(emulator.world.confirm, a)
    server.call(emulator.world.rate, a, 4, "Долго, но сделали")
    server.call(emulator.world.rework, c, "Свалка на месте")
    stored = await poll_once(conn, db)
    assert stored.status_changes == 5
    batch = await conn.fetch(None)
    got = sorted((int(s.external_id), s.status, s.rating, s.comment) for s in batch.status_changes)
    assert got == [
        (a, "accepted", None, None),
        (a, "rated", 4, "Долго, но сделали"),
        (b, "extension_granted", None, None),
        (c, "extension_denied", None, "Срок не продлевается"),
        (c, "reopened", None, "Свалка на месте"),
    ]
    granted = next(s for s in batch.status_changes if s.status == "extension_granted")
    assert granted.raw["days"] == 8 and granted.raw["deadline"]
    assert (await poll_once(conn, db)).status_changes == 0
    await conn.aclose()


async def test_send_is_idempotent_readable_and_enforces_photos(kvp):
    server, emulator = kvp
    mid = server.call(emulator.inject, {"text": "Яма"})["id"]
    conn = connector(server, emulator)
    with pytest.raises(Fatal) as exc:
        await conn.send(reply(mid))  # §2.5: no photos and no reason
    assert exc.value.code == "PHOTOS_REQUIRED"
    assert await conn.find_posted(reply(mid)) is None
    lenient = connector(server, emulator, no_photo_reason="Работы выполнены под землёй")
    first = await lenient.send(reply(mid))
    again = await lenient.send(reply(mid))
    assert not first.already_posted and again.already_posted and first.external_id == again.external_id
    assert (await conn.find_posted(reply(mid))).external_id == first.external_id
    assert emulator.world.get(mid)["answers"][0]["no_photo_reason"] == "Работы выполнены под землёй"
    with pytest.raises(Fatal):
        await conn.send(reply(mid, "another", attachments=PHOTO))  # already answered
    with pytest.raises(Fatal):
        await conn.request_extension(str(mid), 2, "поздно")  # answered: no extension
    await conn.aclose()
    await lenient.aclose()


def test_mapping_of_replies_and_extensions():
    assert answer_body(reply(1, kind="clarify"))["kind"] == "clarification"
    assert answer_body(reply(1, attachments=PHOTO))["photos"] == ["https://example.org/after.jpg"]
    assert "no_photo_reason" in answer_body(reply(1), "нет фото") and "no_photo_reason" not in answer_body(
        reply(1)
    )
    for kind in ("intermediate", "first_response"):
        with pytest.raises(Fatal):
            answer_body(reply(1, kind=kind))
    with pytest.raises(Fatal):
        extension_body(9, "мало времени")
    with pytest.raises(Fatal):
        extension_body(3, "   ")
    assert extension_body(8, "Нужна техника") == {"days": 8, "comment": "Нужна техника"}


async def test_faults_and_auth(kvp, db):
    server, emulator = kvp
    server.call(emulator.inject, {"text": "Нет воды"})
    conn = connector(server, emulator)
    assert await conn.check() == []
    emulator.faults.add({"kind": "5xx", "match": "/messages"})
    assert len((await conn.fetch(None)).messages) == 1
    emulator.faults.add({"kind": "5xx", "match": "/messages", "count": None})
    with pytest.raises(Transient):
        await conn.fetch(None)
    emulator.faults.clear()
    emulator.faults.add({"kind": "malformed", "match": "/messages", "count": 2})
    with pytest.raises(Transient):
        await conn.fetch(None)
    emulator.faults.add({"kind": "429", "match": "/messages", "retry_after": 5})
    with pytest.raises(RateLimited) as exc:
        await conn.fetch(None)
    assert exc.value.retry_after == 5
    emulator.faults.add({"kind": "timeout", "match": "/messages", "delay": 1.0, "count": 2})
    quick = connector(server, emulator, client=httpx.AsyncClient(timeout=0.3))
    with pytest.raises(Transient):
        await quick.fetch(None)
    with pytest.raises(Fatal) as bad:
        await conn.fetch("garbage")
    assert bad.value.code == "CURSOR_INVALID" and bad.value.alert
    emulator.faults.add({"kind": "auth", "match": "/messages"})
    with pytest.raises(AuthFailed):
        await conn.fetch(None)
    server.call(emulator.revoke)
    assert "rejected" in (await conn.check())[0]
    await conn.aclose()
    await quick.aclose()


async def test_polling_stays_under_the_limit(kvp):
    server, emulator = kvp
    emulator.rps_limit = 5
    conn = connector(server, emulator, rps=4)
    for _ in range(10):
        await conn.fetch(None)
    assert emulator.rate_limited == 0
    await conn.aclose()


def test_parse_handles_envelopes_items_and_errors():
    item = {
        "id": 9,
        "text": "Яма",
        "posted_at": "2024-05-14T21:30:00.000+12:00",
        "status": "withdrawn",
        "author": {"esia_oid": "1", "display_name": "Анна П."},
        "category": {"group": "Дороги", "topic": "Ямы"},
        "events": [
            {"seq": 1, "type": "assigned", "at": "2024-05-14T21:30:00.000+12:00"},
            {"seq": 2, "type": "withdrawn", "at": "2024-05-15T08:00:00.000+12:00"},
        ],
    }
    [m] = KamchatkaConnector.parse({"success": True, "data": [item], "meta": {"has_more": False}})
    assert m.event == EventKind.DELETE and m.created_at.hour == 9 and m.platform_topic == "Ямы"
    assert KamchatkaConnector.parse({"success": True, "data": {"id": 1, "client_reference": "r"}}) == []
    with pytest.raises(AuthFailed):
        KamchatkaConnector.parse({"success": False, "error": {"code": "TOKEN_REVOKED", "message": "revoked"}})
    with pytest.raises(RateLimited):
        KamchatkaConnector.parse({"success": False, "error": {"code": "RATE_LIMIT", "message": "slow"}})
    with pytest.raises(Transient):
        KamchatkaConnector.parse({"success": False, "error": {"code": "INTERNAL_ERROR", "message": "oops"}})
    with pytest.raises(Fatal):
        KamchatkaConnector.parse(
            {"success": False, "error": {"code": "PHOTOS_REQUIRED", "message": "photos"}}
        )
