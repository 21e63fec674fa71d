"""The connector against exchanges recorded from the mock (fixtures/incident_management, replayed
with respx): what it makes of each scenario, and the requests it sends."""

from datetime import UTC, datetime

import pytest

from connectors.base import SourceConfig
from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.incident_management.connector import IncidentManagementConnector
from otklik.models import Delivery, EventKind, Platform, Reply, Thread
from tests.connectors.regional_cassettes import read_pages, recorded_responses, replay_fixture

BASE = "http://im.test"


replay = replay_fixture("incident_management", BASE)


def connector(**options) -> IncidentManagementConnector:
    return IncidentManagementConnector(
        SourceConfig(
            name="im",
            platform="incident_management",
            base_url=BASE,
            secrets={"token": "secret"},
            options={"retry_wait": 0, "read_attempts": 2, **options},
        )
    )


def answer(incident: int, rid: str, **kw) -> Reply:
    return Reply(
        id=rid,
        source="im",
        platform=Platform.INCIDENT_MANAGEMENT,
        thread=Thread(kind="incident", ids={"incident_id": incident}),
        text=kw.pop("text", "Ответ"),
        **kw,
    )


async def test_first_sync(replay):
    seen, _ = replay("first_sync")
    batch = await connector().fetch(None)
    assert [m.thread.ids["network"] for m in batch.messages] == ["vk", "ok", "telegram"]
    assert [m.fast_track for m in batch.messages] == [False, True, True]  # high importance, urgent
    assert batch.next_cursor == "3" and not batch.has_more and batch.status_changes == []
    assert seen[0].headers["Authorization"] == "Bearer secret"


async def test_incremental_sync(replay):
    _, recorded = replay("incremental_sync")
    batch = await connector().fetch(recorded["cursor"])
    events = {(m.external_id, m.event) for m in batch.messages}
    assert events == {
        ("1004", EventKind.NEW),
        (str(recorded["edited"]), EventKind.EDIT),
        (str(recorded["deleted"]), EventKind.DELETE),
    }


async def test_pagination(replay):
    replay("pagination")
    conn = connector(limit=2)
    pages, cursor = await read_pages(conn)
    assert pages == [["1001", "1002"], ["1003", "1004"], ["1005"]]


async def test_status_changes(replay):
    _, recorded = replay("status_changes")
    batch = await connector().fetch(recorded["cursor"])
    a, b, c = (str(i) for i in recorded["ids"])
    assert sorted((s.external_id, s.status) for s in batch.status_changes) == [
        (a, "approved"),
        (a, "reopened"),
        (b, "returned"),
        (c, "approved"),
        (c, "rated"),
    ]
    assert batch.messages == []  # only status changed


async def test_reply_posting_is_idempotent_and_readable(replay):
    seen, recorded = replay("reply_posting")
    conn = connector()
    incident = recorded["ids"][0]
    r = answer(incident, "reply-first", kind="first_response")
    assert await conn.find_posted(r) is None
    first, second = await conn.send(r), await conn.send(r)
    assert not first.already_posted and second.already_posted and first.external_id == second.external_id
    assert (await conn.find_posted(r)).external_id == first.external_id
    posts = [q for q in seen if q.method == "POST"]
    assert {q.headers["Idempotency-Key"] for q in posts} == {"reply-first"}


async def test_publication(replay):
    seen, recorded = replay("publication")
    delivery = Delivery(
        reply_id="reply-final",
        external_id="x",
        url="https://vk.com/wall-200000001_50?reply=990",
        posted_at=datetime.now(UTC),
    )
    await connector().mirror(str(recorded["ids"][0]), answer(recorded["ids"][0], "reply-final"), delivery)
    assert seen[-1].url.path.endswith("/publication")


async def test_check(replay):
    replay("check_ok")
    assert await connector().check() == []


@pytest.mark.parametrize(
    ("scenario", "error"),
    [
        ("error_auth", AuthFailed),
        ("error_429", RateLimited),
        ("error_5xx", Transient),
        ("error_malformed", Transient),
    ],
)
async def test_errors_are_classified(replay, scenario, error):
    replay(scenario)
    with pytest.raises(error) as exc:
        await connector().fetch(None)
    if error is RateLimited:
        assert exc.value.retry_after == 3


async def test_a_recovered_5xx_is_retried_and_a_duplicate_is_counted_once(replay):
    seen, _ = replay("error_5xx_recovered")
    assert len((await connector().fetch(None)).messages) == 3 and len(seen) == 2


async def test_duplicate_delivery(replay):
    replay("duplicate_delivery")
    batch = await connector().fetch(None)
    assert sorted(m.external_id for m in batch.messages) == ["1001", "1002", "1003"]


async def test_conflict_is_fatal(replay):
    _, recorded = replay("error_conflict")
    conn = connector()
    incident = recorded["ids"][0]
    await conn.send(answer(incident, "reply-a", outcome="solved"))
    with pytest.raises(Fatal) as exc:
        await conn.send(answer(incident, "reply-b", outcome="solved"))
    assert exc.value.code == "conflict"


def test_every_recorded_payload_normalizes():
    scenarios = ("first_sync", "incremental_sync", "pagination", "status_changes", "reply_posting")
    for r in recorded_responses("incident_management", scenarios):
        if r["status"] == 200 and "json" in r:
            IncidentManagementConnector.parse(r["json"])
