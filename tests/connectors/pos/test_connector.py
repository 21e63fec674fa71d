"""The ПОС connector against the live mock: OAuth (renewal, re-authentication, revocation), the
acknowledged inbox into the database, answers with read-back, status changes, every fault."""

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from connectors.base import SourceConfig
from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.pos.connector import PosConnector
from connectors.pos.mapping import answer_body
from otklik.models import EventKind, Platform, Reply, Thread
from otklik.poller import poll_once
from sandbox.pos.emulator import PosEmulator
from sandbox.runner import serving


@pytest.fixture
def pos():
    emulator = PosEmulator()
    with serving(emulator) as server:
        yield server, emulator


def connector(server, emulator, client: httpx.AsyncClient | None = None, **options) -> PosConnector:
    cfg = SourceConfig(
        name="pos",
        platform="pos",
        base_url=server.url,
        secrets=emulator.demo_secrets(),
        options={"read_attempts": 2, "retry_wait": 0.01, **options},
    )
    return PosConnector(cfg, client=client)


def reply(appeal: int, rid: str = "reply-1", **kw) -> Reply:
    return Reply(
        id=rid,
        source="pos",
        platform=Platform.POS,
        thread=Thread(kind="appeal", ids={"appeal_id": appeal}),
        text=kw.pop("text", "Здравствуйте, Анна! Опору освещения заменят до 5 июня."),
        **kw,
    )


async def test_appeals_carry_subject_deadline_fast_track_and_applicant(pos):
    server, emulator = pos
    server.call(
        emulator.inject,
        {
            "text": "Не горит фонарь у школы",
            "author_name": "Анна Петрова",
            "subject": "Благоустройство",
            "subsubject": "Освещение",
            "fast_track": "REGIONAL",
            "attachments": 2,
        },
    )
    conn = connector(server, emulator)
    [m] = (await conn.fetch(None)).messages
    assert (m.platform_topic_group, m.platform_topic, m.fast_track) == ("Благоустройство", "Освещение", True)
    assert m.platform_deadline - m.created_at == timedelta(days=14)
    assert m.author.name == "Анна Петрова" and m.thread.ids == {"appeal_id": int(m.external_id)}
    assert [a.url.rsplit("/", 1)[-1] for a in m.attachments] == [f"{m.external_id}-0", f"{m.external_id}-1"]
    await conn.aclose()


async def test_the_inbox_is_acknowledged_only_after_the_batch_was_stored(pos, db):
    server, emulator = pos
    for i in range(5):
        server.call(emulator.inject, {"text": f"Обращение {i}", "author_id": 20 + i})
    conn = connector(server, emulator, page_size=2)
    batch = await conn.fetch(None)
    # A crash before storing: nothing was acknowledged, the same appeals are listed again.
    assert [m.external_id for m in (await conn.fetch(None)).messages] == [
        m.external_id for m in batch.messages
    ]
    results = [await poll_once(conn, db)]
    while results[-1].has_more:
        results.append(await poll_once(conn, db))
    await poll_once(conn, db)  # acknowledges the last page
    assert db.count_messages("pos") == 5 and sum(r.new for r in results) == 5
    assert emulator.world.pending == set()
    server.call(emulator.inject, {"kind": "edit", "id": 4_800_002, "text": "Обращение 1, дополнено"})
    edited = await poll_once(conn, db)
    assert edited.updated == 1
    await conn.aclose()


async def test_answers_read_back_and_status_changes(pos, db):
    server, emulator = pos
    for text in ("Яма у дома 5", "Нет освещения"):
        server.call(emulator.inject, {"text": text})
    conn = connector(server, emulator, executor_info={"surname": "Исполнителев", "name": "Пётр"})
    await poll_once(conn, db)
    first, second = 4_800_001, 4_800_002
    r1 = reply(first, outcome="solved")  # answers with files: test_answer_files.py
    assert await conn.find_posted(r1) is None
    delivery = await conn.send(r1)
    assert delivery.external_id.startswith(f"{first}:") and not delivery.already_posted
    found = await conn.find_posted(r1)
    assert found.already_posted and found.external_id == delivery.external_id
    await conn.send(
        reply(second, "reply-2", kind="intermediate", postponed_until=datetime.now(UTC) + timedelta(days=9))
    )
    assert emulator.replies[1]["answer_type"] == "POSTPONED"
    assert emulator.world.get(first)["executorInfo"]["surname"] == "Исполнителев"
    server.call(emulator.approve, first)
    server.call(emulator.return_answer, second, "Укажите дату")
    server.call(emulator.world.comment, first, "Яма на месте")
    server.call(emulator.world.rate, first, 2)
    batch = await conn.fetch(db.get_cursor("pos"))
    got = sorted((c.external_id, c.status, c.comment, c.rating) for c in batch.status_changes)
    assert got == [
        (str(first), "approved", None, None),
        (str(first), "rated", None, 2),
        (str(first), "reopened", "Яма на месте", None),
        (str(second), "returned", "Укажите дату", None),
    ]
    assert all(m.event == EventKind.NEW for m in batch.messages)
    stored = await poll_once(conn, db)
    assert (stored.status_changes, stored.new, stored.duplicates) == (4, 0, 2)
    await conn.send(reply(first, "reply-3"))  # reopened: answered again
    with pytest.raises(Fatal) as exc:
        await conn.send(reply(first, "reply-4"))  # while that one is on approval
    assert exc.value.code == 409
    await conn.aclose()


def test_reply_kinds_map_to_answer_types():
    assert answer_body(reply(1, outcome="not_solved"))["appealAnswerType"] == "NOT_SOLVED"
    assert answer_body(reply(1, outcome="rejected"))["appealAnswerType"] == "REJECTED"
    body = answer_body(reply(1, kind="intermediate", postponed_until=datetime(2031, 6, 3, tzinfo=UTC)))
    assert body["appealAnswerType"] == "POSTPONED" and body["postponedDate"].startswith("2031-06-03T00:00:00")
    assert body["outgoingNumber"] == "reply-1"
    for bad in (reply(1, kind="intermediate"), reply(1, kind="clarify"), reply(1, outcome="maybe")):
        with pytest.raises(Fatal):
            answer_body(bad)


async def test_tokens_are_renewed_not_requested_per_call(pos):
    server, emulator = pos
    conn = connector(server, emulator)
    for _ in range(5):
        await conn.fetch(None)
    assert conn.client.authentications == 1
    server.call(emulator.advance, 3600)  # the platform expired the token early for us: 401, then renewal
    await conn.fetch(None)
    assert emulator.token_grants == ["password", "refresh_token"]
    emulator.refresh_tokens.clear()  # refresh tokens gone too: back to the password grant
    server.call(emulator.advance, 3600)
    await conn.fetch(None)
    assert emulator.token_grants == ["password", "refresh_token", "password"]
    await conn.aclose()


async def test_revoked_credentials_raise_auth_failed(pos):
    server, emulator = pos
    conn = connector(server, emulator)
    assert await conn.check() == []
    server.call(emulator.revoke)
    with pytest.raises(AuthFailed):
        await conn.fetch(None)
    assert "refuses" in (await conn.check())[0]
    emulator_bad = connector(server, emulator)
    emulator_bad.config.secrets["password"] = emulator_bad.config.secrets["username"]
    with pytest.raises(AuthFailed):
        await emulator_bad.fetch(None)
    await conn.aclose()
    await emulator_bad.aclose()


async def test_faults(pos, db):
    server, emulator = pos
    server.call(emulator.inject, {"text": "Нет воды"})
    conn = connector(server, emulator)
    emulator.faults.add({"kind": "5xx", "match": "/edms"})
    assert len((await conn.fetch(None)).messages) == 1  # retried
    emulator.faults.add({"kind": "5xx", "match": "/edms", "count": None})
    with pytest.raises(Transient):
        await conn.fetch(None)
    emulator.faults.clear()
    emulator.faults.add({"kind": "malformed", "match": "/edms", "count": 2})
    with pytest.raises(Transient):
        await conn.fetch(None)
    emulator.faults.add({"kind": "429", "match": "/edms", "retry_after": 4})
    with pytest.raises(RateLimited) as exc:
        await conn.fetch(None)
    assert exc.value.retry_after == 4
    emulator.faults.add({"kind": "auth", "match": "/edms"})  # one 401: re-authenticate and carry on
    assert len((await conn.fetch(None)).messages) == 1
    emulator.faults.add({"kind": "auth", "count": None})  # the token endpoint refuses too
    with pytest.raises(AuthFailed):
        await conn.fetch(None)
    emulator.faults.clear()
    emulator.faults.add({"kind": "timeout", "match": "/edms", "delay": 1.0, "count": 2})
    quick = connector(server, emulator, client=httpx.AsyncClient(timeout=0.3))
    with pytest.raises(Transient):
        await quick.fetch(None)
    emulator.faults.add({"kind": "5xx", "match": "/edms/"})
    with pytest.raises(Transient):
        await conn.send(reply(4_800_001))  # not retried: the worker reads back first
    emulator.faults.add({"kind": "duplicate", "match": "/edms"})
    assert len((await conn.fetch(None)).messages) == 1
    emulator.faults.add({"kind": "duplicate", "match": "/edms"})
    await poll_once(conn, db)
    assert db.count_messages("pos") == 1
    await conn.aclose()
    await quick.aclose()


async def test_polling_stays_under_the_limit(pos):
    server, emulator = pos
    emulator.rps_limit = 12
    conn = connector(server, emulator, rps=10)
    for _ in range(25):
        await conn.fetch(None)
    assert emulator.rate_limited == 0
    await conn.aclose()


def test_parse_handles_pages_appeals_tokens_and_errors():
    appeal = {
        "id": 5,
        "description": "Нет света",
        "createdAt": "2024-05-14T09:30:00.000+00:00",
        "answerAt": "2024-06-03T09:30:00.000+00:00",
        "subjectName": "ЖКХ",
        "fastTrack": False,
        "applicant": {"id": "9", "name": "Иван", "surname": "Смирнов"},
        "attachments": [],
    }
    [m] = PosConnector.parse({"content": [appeal], "last": True, "number": 0})
    assert m.author.name == "Иван Смирнов" and m.platform_topic_group == "ЖКХ"
    assert PosConnector.parse({"access_token": "x", "token_type": "bearer"}) == []
    with pytest.raises(AuthFailed):
        PosConnector.parse({"error": "invalid_token", "error_description": "Access token expired"})
    with pytest.raises(RateLimited):
        PosConnector.parse({"status": 429, "error": "Too Many Requests", "messages": []})
    with pytest.raises(Transient):
        PosConnector.parse({"status": 503, "error": "Service Unavailable", "messages": []})
    with pytest.raises(Fatal):
        PosConnector.parse({"status": 400, "error": "Bad Request", "messages": ["page >= 0"]})
    with pytest.raises(Fatal):
        PosConnector.parse(json.loads("[1]"))
