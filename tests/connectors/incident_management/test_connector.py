"""The Incident Management connector against the live mock: the change feed into the database,
status changes, idempotent answers, read-back, publication, and every fault the mock injects."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from connectors.base import SourceConfig
from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.incident_management.connector import IncidentManagementConnector
from connectors.incident_management.mapping import answer_body, social_thread
from otklik.models import EventKind, Platform, Reply, Thread
from otklik.poller import poll_once
from sandbox.incident_management.emulator import TOKEN, IncidentManagementEmulator
from sandbox.runner import serving


@pytest.fixture
def im():
    emulator = IncidentManagementEmulator()
    with serving(emulator) as server:
        yield server, emulator


def connector(server, client: httpx.AsyncClient | None = None, **options) -> IncidentManagementConnector:
    cfg = SourceConfig(
        name="im",
        platform="incident_management",
        base_url=server.url,
        secrets={"token": TOKEN},
        options={"read_attempts": 2, "retry_wait": 0.01, **options},
    )
    return IncidentManagementConnector(cfg, client=client)


def reply(incident: int, rid: str = "reply-1", **kw) -> Reply:
    return Reply(
        id=rid,
        source="im",
        platform=Platform.INCIDENT_MANAGEMENT,
        thread=Thread(kind="incident", ids={"incident_id": incident}),
        text=kw.pop("text", "Здравствуйте! Фонарь заменят до пятницы."),
        **kw,
    )


async def test_incidents_carry_the_platform_classification_and_the_social_thread(im):
    server, emulator = im
    server.call(
        emulator.inject,
        {
            "text": "Нет света на Лесной",
            "network": "ok",
            "topic_group": "Электроснабжение",
            "topic": "Отключения",
            "importance": "high",
            "author_name": "Анна Петрова",
        },
    )
    conn = connector(server)
    [m] = (await conn.fetch(None)).messages
    assert (m.external_id, m.event, m.platform_topic_group, m.platform_topic) == (
        "1001",
        EventKind.NEW,
        "Электроснабжение",
        "Отключения",
    )
    assert m.fast_track and m.platform_deadline - m.created_at == timedelta(hours=4)
    assert m.author.name == "Анна Петрова" and m.url.startswith("https://ok.ru/group/")
    assert m.thread.ids["incident_id"] == 1001 and m.thread.ids["network"] == "ok"
    platform, thread, url = social_thread(m.raw)
    assert (
        platform == Platform.OK
        and thread.kind == "discussion"
        and thread.ids["discussion_type"] == "GROUP_TOPIC"
    )
    assert url == m.url
    await conn.aclose()


async def test_sync_pages_edits_deletions_and_status_changes_reach_the_database(im, db):
    server, emulator = im
    for i in range(5):
        server.call(emulator.inject, {"text": f"Яма номер {i}", "author_id": 10 + i})
    conn = connector(server, limit=2)
    first = await poll_once(conn, db)
    assert first.new == 2 and first.has_more
    while (await poll_once(conn, db)).has_more:
        pass
    assert db.count_messages("im") == 5
    server.call(emulator.inject, {"kind": "edit", "id": 1002, "text": "Яма номер 1, уже две"})
    server.call(emulator.inject, {"kind": "delete", "id": 1003})
    await conn.send(reply(1001))
    server.call(emulator.approve, 1001)
    await conn.send(reply(1004, "reply-4"))
    server.call(emulator.return_answer, 1004, "Нет сроков")
    results = [await poll_once(conn, db)]
    while results[-1].has_more:
        results.append(await poll_once(conn, db))
    result = sum(results[1:], results[0])
    assert (result.updated, result.deleted, result.status_changes) == (1, 1, 2)
    assert (await poll_once(conn, db)).status_changes == 0  # nothing twice
    assert db.count_messages("im") == 5
    await conn.aclose()


async def test_answer_publication_and_citizen_feedback_become_status_changes(im):
    server, emulator = im
    server.call(emulator.inject, {"text": "Не убран снег", "network": "telegram"})
    server.call(emulator.inject, {"text": "Не убран двор", "network": "vk"})
    conn = connector(server)
    cursor = (await conn.fetch(None)).next_cursor
    for incident in (1001, 1002):
        delivery = await conn.send(reply(incident, f"r{incident}", outcome="solved"))
        server.call(emulator.approve, incident)
        # Posted in the network by the network's connector; a private link may be missing.
        await conn.mirror(
            str(incident),
            reply(incident, f"r{incident}"),
            delivery.model_copy(update={"url": None if incident == 1001 else "https://vk.com/wall-1_5"}),
        )
        await conn.mirror(str(incident), reply(incident, f"r{incident}"), delivery)  # repeated: harmless
    assert (
        emulator.world.get(1001)["answers"][0]["publication_url"]
        == emulator.world.get(1001)["source"]["post_url"]
    )
    server.call(emulator.world.comment, 1001, "Снег так и лежит")
    server.call(emulator.world.rate, 1002, 5, "Спасибо")
    batch = await conn.fetch(cursor)
    got = sorted((c.external_id, c.status, c.comment, c.rating) for c in batch.status_changes)
    assert got == [
        ("1001", "approved", None, None),
        ("1001", "reopened", "Снег так и лежит", None),
        ("1002", "approved", None, None),
        ("1002", "rated", "Спасибо", 5),
    ]
    # Reopened: a new answer goes through approval again; silence after it means accepted.
    await conn.send(reply(1001, "r1001-2", text="Здравствуйте! Снег вывезли вечером."))
    server.call(emulator.approve, 1001)
    await conn.mirror("1001", reply(1001, "r1001-2"), (await conn.find_posted(reply(1001, "r1001-2"))))
    server.call(emulator.advance, 2 * 86400)
    later = await conn.fetch(batch.next_cursor)
    assert [c.status for c in later.status_changes] == ["approved", "accepted"]
    await conn.aclose()


async def test_send_is_idempotent_and_read_back_finds_it(im):
    server, emulator = im
    server.call(emulator.inject, {"text": "Яма"})
    conn = connector(server)
    r = reply(1001, kind="intermediate", postponed_until=datetime(2031, 5, 1, tzinfo=UTC))
    assert await conn.find_posted(r) is None
    first = await conn.send(r)
    again = await conn.send(r)
    assert not first.already_posted and again.already_posted and first.external_id == again.external_id
    found = await conn.find_posted(r)
    assert found.already_posted and found.external_id == first.external_id
    assert len(emulator.replies) == 1
    assert emulator.replies[0]["kind"] == "intermediate" and emulator.replies[0]["outcome"] == "Отложено"
    with pytest.raises(Fatal) as exc:
        await conn.send(reply(1001, "other"))  # one answer on approval at a time
    assert exc.value.code == "conflict"
    with pytest.raises(Fatal):
        await conn.send(reply(4242, "nowhere"))
    await conn.aclose()


def test_reply_kinds_and_outcomes_map_to_the_systems_terms():
    assert answer_body(reply(1, outcome="not_solved"))["outcome"] == "Не решено"
    assert answer_body(reply(1, kind="first_response"))["kind"] == "first"
    assert answer_body(reply(1, kind="clarify"))["kind"] == "clarification"
    with pytest.raises(Fatal):
        answer_body(reply(1, kind="intermediate"))  # postponed_until is required
    with pytest.raises(Fatal):
        answer_body(reply(1, outcome="whatever"))


async def test_check_reports_a_revoked_token(im):
    server, emulator = im
    conn = connector(server)
    assert await conn.check() == []
    server.call(emulator.revoke)
    assert "rejected" in (await conn.check())[0]
    with pytest.raises(AuthFailed):
        await conn.fetch(None)
    await conn.aclose()


async def test_transient_faults_are_retried_for_reads_and_classified_otherwise(im):
    server, emulator = im
    server.call(emulator.inject, {"text": "Нет воды"})
    conn = connector(server)
    emulator.faults.add({"kind": "5xx", "match": "/incidents"})
    assert len((await conn.fetch(None)).messages) == 1  # retried once, transparently
    emulator.faults.add({"kind": "5xx", "match": "/incidents", "count": None})
    with pytest.raises(Transient):
        await conn.fetch(None)
    emulator.faults.clear()
    emulator.faults.add({"kind": "malformed", "match": "/incidents", "count": 2})
    with pytest.raises(Transient):
        await conn.fetch(None)
    emulator.faults.add({"kind": "5xx", "match": "/answers"})
    with pytest.raises(Transient):
        await conn.send(reply(1001))  # writes are never retried here: the worker decides
    assert emulator.replies == []
    await conn.aclose()


async def test_rate_limit_timeout_auth_and_duplicate_faults(im, db):
    server, emulator = im
    server.call(emulator.inject, {"text": "Нет воды"})
    conn = connector(server)
    emulator.faults.add({"kind": "429", "match": "/incidents", "retry_after": 7})
    with pytest.raises(RateLimited) as exc:
        await conn.fetch(None)
    assert exc.value.retry_after == 7
    emulator.faults.add({"kind": "timeout", "match": "/incidents", "delay": 1.0, "count": 2})
    quick = connector(server, client=httpx.AsyncClient(timeout=0.2))
    with pytest.raises(Transient):
        await quick.fetch(None)
    emulator.faults.add({"kind": "auth", "match": "/incidents"})
    with pytest.raises(AuthFailed):
        await conn.fetch(None)
    emulator.faults.add({"kind": "duplicate", "match": "/incidents"})
    batch = await conn.fetch(None)
    assert len(batch.messages) == 1  # the re-delivered incident is recognised by its id
    emulator.faults.add({"kind": "duplicate", "match": "/incidents"})
    await poll_once(conn, db)
    assert db.count_messages("im") == 1
    await conn.aclose()
    await quick.aclose()


async def test_polling_stays_under_the_platforms_limit(im):
    server, _ = im
    emulator = im[1]
    emulator.rps_limit = 12
    conn = connector(server, rps=10)
    for _ in range(25):
        await conn.fetch(None)
    assert emulator.rate_limited == 0
    await conn.aclose()


def test_parse_handles_every_kind_of_payload():
    incident = {
        "id": 7,
        "source": {
            "network": "vk",
            "post_url": "https://vk.com/wall-1_2",
            "thread": {},
            "author": {"id": "vk:1", "name": "Житель"},
        },
        "text": "Нет света",
        "created_at": "2024-05-14T09:30:00.000+07:00",
        "updated_at": "2024-05-14T09:30:00.000+07:00",
        "deadline": "2024-05-15T09:30:00.000+07:00",
        "history": [{"seq": 1, "type": "created", "at": "2024-05-14T09:30:00.000+07:00"}],
    }
    [m] = IncidentManagementConnector.parse(incident)
    assert m.created_at == datetime(2024, 5, 14, 2, 30, tzinfo=UTC) and m.event == EventKind.NEW
    assert len(IncidentManagementConnector.parse({"items": [incident, incident], "next_since": 1})) == 2
    deleted = {**incident, "source": {**incident["source"], "deleted": True}}
    assert IncidentManagementConnector.parse(deleted)[0].event == EventKind.DELETE
    assert IncidentManagementConnector.parse({"id": 1, "client_reference": "x", "state": "approved"}) == []
    with pytest.raises(RateLimited):
        IncidentManagementConnector.parse(
            {"error": {"code": "rate_limited", "message": "slow", "retry_after": 2}}
        )
    with pytest.raises(AuthFailed):
        IncidentManagementConnector.parse({"error": {"code": "token_revoked", "message": "revoked"}})
    with pytest.raises(Fatal):
        IncidentManagementConnector.parse({"hello": "world"})
