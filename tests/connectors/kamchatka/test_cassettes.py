"""The «Камчатка в порядке» connector against exchanges recorded from the mock (fixtures/kamchatka,
replayed with respx): what it makes of each scenario, and the requests it sends."""

import json

import pytest

from connectors.base import SourceConfig
from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.kamchatka.connector import KamchatkaConnector
from otklik.models import Attachment, EventKind, Platform, Reply, Thread
from tests.connectors.regional_cassettes import read_pages, recorded_responses, replay_fixture

BASE = "http://kvp.test"
PHOTO = [Attachment(type="photo", url="https://kamchatka.example/files/answer-1.jpg")]


replay = replay_fixture("kamchatka", BASE)


def connector(**options) -> KamchatkaConnector:
    return KamchatkaConnector(
        SourceConfig(
            name="kvp",
            platform="kamchatka",
            base_url=BASE,
            secrets={"api_key": "secret"},
            options={"retry_wait": 0, "read_attempts": 2, "rps": 100, **options},
        )
    )


def answer(message: int, rid: str, **kw) -> Reply:
    return Reply(
        id=rid,
        source="kvp",
        platform=Platform.KAMCHATKA,
        thread=Thread(kind="message", ids={"message_id": message}),
        text=kw.pop("text", "Ответ"),
        **kw,
    )


async def test_first_sync(replay):
    seen, recorded = replay("first_sync")
    batch = await connector().fetch(None)
    assert [int(m.external_id) for m in batch.messages] == recorded["ids"]
    assert [m.fast_track for m in batch.messages] == [False, False, True]
    assert [len(m.attachments) for m in batch.messages] == [2, 0, 0]
    assert batch.next_cursor and not batch.has_more
    assert seen[0].headers["Authorization"] == "Bearer secret"


async def test_incremental_sync(replay):
    _, recorded = replay("incremental_sync")
    batch = await connector().fetch(recorded["cursor"])
    a, b, c = recorded["ids"]
    assert {(int(m.external_id), m.event) for m in batch.messages} == {
        (recorded["new"], EventKind.NEW),
        (b, EventKind.EDIT),
        (c, EventKind.DELETE),
    }
    repeat = next(m for m in batch.messages if int(m.external_id) == recorded["new"])
    assert repeat.raw["repeat_of"] == a


async def test_pagination(replay):
    replay("pagination")
    conn = connector(limit=2)
    pages, cursor = await read_pages(conn)
    assert pages == [["70001", "70002"], ["70003", "70004"], ["70005"]]


async def test_status_changes(replay):
    _, recorded = replay("status_changes")
    batch = await connector().fetch(recorded["cursor"])
    a, b, c = (str(i) for i in recorded["ids"])
    assert sorted((s.external_id, s.status, s.rating) for s in batch.status_changes) == [
        (a, "accepted", None),
        (a, "rated", 4),
        (b, "extension_granted", None),
        (c, "extension_denied", None),
        (c, "reopened", None),
    ]


async def test_reply_posting(replay):
    seen, recorded = replay("reply_posting")
    conn = connector()
    r = answer(recorded["ids"][0], "reply-road", attachments=PHOTO)
    assert await conn.find_posted(r) is None
    first, again = await conn.send(r), await conn.send(r)
    assert not first.already_posted and again.already_posted and first.external_id == again.external_id
    assert (await conn.find_posted(r)).external_id == first.external_id
    body = json.loads(next(q for q in seen if q.method == "POST").content)
    assert body["photos"] == [PHOTO[0].url] and body["kind"] == "answer"
    assert {q.headers["Idempotency-Key"] for q in seen if q.method == "POST"} == {"reply-road"}


async def test_extension_request(replay):
    seen, recorded = replay("extension_request")
    conn = connector()
    first = await conn.request_extension(str(recorded["ids"][1]), 8, "Подрядчик приступит после схода снега")
    again = await conn.request_extension(str(recorded["ids"][1]), 8, "Подрядчик приступит после схода снега")
    assert first == again and first["state"] == "pending" and first["days"] == 8
    assert json.loads(seen[0].content) == {"days": 8, "comment": "Подрядчик приступит после схода снега"}


async def test_check(replay):
    replay("check_ok")
    assert await connector().check() == []


@pytest.mark.parametrize(
    ("scenario", "error", "code"),
    [
        ("error_auth", AuthFailed, "TOKEN_REVOKED"),
        ("error_429", RateLimited, "RATE_LIMIT"),
        ("error_5xx", Transient, "INTERNAL_ERROR"),
        ("error_malformed", Transient, 200),
    ],
)
async def test_errors_are_classified_by_code(replay, scenario, error, code):
    replay(scenario)
    with pytest.raises(error) as exc:
        await connector().fetch(None)
    assert exc.value.code == code


async def test_a_bad_cursor_needs_an_operator(replay):
    replay("error_cursor")
    with pytest.raises(Fatal) as exc:
        await connector().fetch("bm90LWEtY3Vyc29y")
    assert exc.value.alert


async def test_photos_required(replay):
    _, recorded = replay("error_photos_required")
    with pytest.raises(Fatal) as exc:
        await connector().send(answer(recorded["ids"][0], "reply-no-photo"))
    assert exc.value.code == "PHOTOS_REQUIRED"


async def test_a_recovered_5xx_is_retried(replay):
    replay("error_5xx_recovered")
    assert len((await connector().fetch(None)).messages) == 3


async def test_duplicate_delivery(replay):
    replay("duplicate_delivery")
    assert sorted(m.external_id for m in (await connector().fetch(None)).messages) == [
        "70001",
        "70002",
        "70003",
    ]


def test_every_recorded_payload_normalizes():
    scenarios = ("first_sync", "incremental_sync", "pagination", "status_changes", "reply_posting")
    for r in recorded_responses("kamchatka", scenarios):
        if r["status"] in (200, 201):
            KamchatkaConnector.parse(r["json"])
