"""The ПОС connector against exchanges recorded from the mock (fixtures/pos, replayed with respx):
what it makes of each scenario, and the requests it sends."""

import json
from datetime import UTC, datetime

import pytest

from connectors.base import SourceConfig
from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.pos.connector import PosConnector
from otklik.models import EventKind, Platform, Reply, Thread
from tests.connectors.regional_cassettes import read_pages, recorded_responses, replay_fixture

BASE = "http://pos.test"
SECRETS = {
    "username": "operator",
    "password": "secret",
    "client_id": "client",
    "client_secret": "client-secret",
}


replay = replay_fixture("pos", BASE)


def connector(**options) -> PosConnector:
    return PosConnector(
        SourceConfig(
            name="pos",
            platform="pos",
            base_url=BASE,
            secrets=SECRETS,
            options={"retry_wait": 0, "read_attempts": 2, **options},
        )
    )


def answer(appeal: int, rid: str, **kw) -> Reply:
    return Reply(
        id=rid,
        source="pos",
        platform=Platform.POS,
        thread=Thread(kind="appeal", ids={"appeal_id": appeal}),
        text=kw.pop("text", "Здравствуйте! Ответ."),
        **kw,
    )


async def test_first_sync_authenticates_with_the_password_grant(replay):
    seen, recorded = replay("first_sync")
    batch = await connector().fetch(None)
    assert [int(m.external_id) for m in batch.messages] == recorded["ids"]
    assert [m.platform_topic_group for m in batch.messages] == ["Благоустройство", "Дороги", "ЖКХ"]
    assert [m.fast_track for m in batch.messages] == [False, True, True]
    assert json.loads(batch.next_cursor) == {"ack": [[i, 1] for i in recorded["ids"]]}
    token = seen[0]
    assert token.url.path == "/user-service/oauth/token" and token.headers["Authorization"].startswith(
        "Basic "
    )
    assert b"grant_type=password" in token.content
    assert seen[1].headers["Authorization"] == "Bearer {access_token}"


async def test_incremental_sync_acknowledges_then_lists(replay):
    seen, recorded = replay("incremental_sync")
    conn = connector()
    batch = await conn.fetch(recorded["cursor"])
    assert {(m.external_id, m.event) for m in batch.messages} == {
        ("4800004", EventKind.NEW),
        ("4800001", EventKind.EDIT),
    }
    assert batch.next_cursor == recorded["next_cursor"]
    acks = [q.url.path for q in seen if q.url.path.endswith("mark-accepted")]
    assert acks == [f"/appeal-service/edms/{i}/mark-accepted" for i in recorded["ids"]]
    assert (await conn.fetch(batch.next_cursor)).messages == []


async def test_pagination(replay):
    replay("pagination")
    conn = connector(page_size=2)
    pages, cursor = await read_pages(conn)
    assert pages == [["4800001", "4800002"], ["4800003", "4800004"], ["4800005"]]
    assert json.loads((await conn.fetch(cursor)).next_cursor) == {"ack": []}


async def test_status_changes(replay):
    _, recorded = replay("status_changes")
    batch = await connector().fetch(recorded["cursor"])
    a, b, c = (str(i) for i in recorded["ids"])
    assert sorted((s.external_id, s.status, s.rating) for s in batch.status_changes) == [
        (a, "approved", None),
        (a, "rated", 1),
        (a, "reopened", None),
        (b, "approved", None),
        (c, "returned", None),
    ]
    returned = next(s for s in batch.status_changes if s.status == "returned")
    assert returned.comment == "Добавьте срок подключения отопления"


async def test_reply_posting_reads_back_by_outgoing_number(replay):
    seen, recorded = replay("reply_posting")
    conn = connector()
    r = answer(
        recorded["ids"][1],
        "reply-roads",
        kind="intermediate",
        postponed_until=datetime(2031, 6, 3, tzinfo=UTC),
    )
    assert await conn.find_posted(r) is None
    delivery = await conn.send(r)
    assert (await conn.find_posted(r)).external_id == delivery.external_id
    body = json.loads(next(q for q in seen if q.method == "POST" and q.url.path.endswith("4800002")).content)
    assert body["appealAnswerType"] == "POSTPONED" and body["outgoingNumber"] == "reply-roads"


async def test_an_expired_token_is_refreshed_once(replay):
    seen, _ = replay("token_refresh")
    conn = connector()
    await conn.fetch(None)
    assert len((await conn.fetch(None)).messages) == 3
    grants = [q.content for q in seen if q.url.path.endswith("/oauth/token")]
    assert len(grants) == 2 and b"grant_type=refresh_token" in grants[1]


async def test_check(replay):
    replay("check_ok")
    assert await connector().check() == []


@pytest.mark.parametrize(
    ("scenario", "error"),
    [("error_429", RateLimited), ("error_5xx", Transient), ("error_malformed", Transient)],
)
async def test_errors_are_classified(replay, scenario, error):
    replay(scenario)
    with pytest.raises(error):
        await connector().fetch(None)


async def test_changed_password_is_auth_failed(replay):
    replay("error_auth")
    conn = connector()
    await conn.fetch(None)
    with pytest.raises(AuthFailed) as exc:
        await conn.fetch(None)
    assert exc.value.code == "invalid_grant"


async def test_a_recovered_5xx_is_retried(replay):
    replay("error_5xx_recovered")
    assert len((await connector().fetch(None)).messages) == 3


async def test_duplicate_delivery(replay):
    replay("duplicate_delivery")
    assert len((await connector().fetch(None)).messages) == 3


async def test_conflict_is_fatal(replay):
    _, recorded = replay("error_conflict")
    conn = connector()
    await conn.send(answer(recorded["ids"][0], "reply-a", outcome="solved"))
    with pytest.raises(Fatal) as exc:
        await conn.send(answer(recorded["ids"][0], "reply-b", outcome="solved"))
    assert exc.value.code == 409


def test_every_recorded_payload_normalizes():
    scenarios = ("first_sync", "incremental_sync", "pagination", "status_changes", "reply_posting")
    for r in recorded_responses("pos", scenarios):
        body = r.get("json")
        if r["status"] == 200 and isinstance(body, dict):
            PosConnector.parse(body)
