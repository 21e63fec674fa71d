"""The «Кузбасс Онлайн» connector against exchanges recorded from the mock
(fixtures/kuzbass_online, replayed with respx): what it makes of each scenario, and the requests it
sends — new appeals taken into work with category, subcategory and executor (004 §2.3), answers
with their result and attachments."""

import json

import pytest

from connectors.base import SourceConfig
from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.kuzbass_online.connector import KuzbassOnlineConnector
from otklik.models import Attachment, EventKind, Platform, Reply, Thread
from sandbox.kuzbass_online.emulator import ORGANISATION
from tests.connectors.regional_cassettes import read_pages, recorded_responses, replay_fixture

BASE = "http://ko.test"
PHOTO = [Attachment(type="photo", url="https://tashtagol.kuzbass-online.example/files/answer-1.jpg")]


replay = replay_fixture("kuzbass_online", BASE)


def connector(**options) -> KuzbassOnlineConnector:
    return KuzbassOnlineConnector(
        SourceConfig(
            name="ko",
            platform="kuzbass_online",
            base_url=BASE,
            secrets={"token": "secret"},
            options={"retry_wait": 0, "read_attempts": 2, "rps": 100, "executor": ORGANISATION, **options},
        )
    )


def answer(appeal: int, rid: str, **kw) -> Reply:
    return Reply(
        id=rid,
        source="ko",
        platform=Platform.KUZBASS_ONLINE,
        thread=Thread(kind="appeal", ids={"appeal_id": appeal}),
        text=kw.pop("text", "Здравствуйте! Яму на Ленина заделали сегодня, фото прилагаем."),
        outcome=kw.pop("outcome", "решено"),
        **kw,
    )


def posts(seen, suffix):
    return [json.loads(q.content) for q in seen if q.method == "POST" and q.url.path.endswith(suffix)]


async def test_first_sync_takes_every_new_appeal_into_work(replay):
    seen, recorded = replay("first_sync")
    conn = connector()
    batch = await conn.fetch(None)
    assert [int(m.external_id) for m in batch.messages] == recorded["ids"]
    assert [m.platform_topic_group for m in batch.messages] == ["Дороги", "ЖКХ", "Транспорт"]
    assert [len(m.attachments) for m in batch.messages] == [2, 0, 0]
    assert all(m.platform_deadline for m in batch.messages)
    assert batch.next_cursor and not batch.has_more
    assert seen[0].headers["Authorization"] == "Bearer secret"
    # 004 §2.3: taken into work with a category, a subcategory and the executor
    assert posts(seen, "/take") == [
        {"category": c, "subcategory": "Прочее", "executor": ORGANISATION} for c in ("Дороги", "ЖКХ", "Транспорт")
    ]
    again = await conn.fetch(batch.next_cursor)  # the takes come back: nothing is new, nothing taken twice
    assert {m.raw["status"] for m in again.messages} == {"in_work"}
    assert len(posts(seen, "/take")) == 3 and again.status_changes == []


async def test_incremental_sync(replay):
    _, recorded = replay("incremental_sync")
    batch = await connector(take_into_work=False).fetch(recorded["cursor"])
    assert {(int(m.external_id), m.event) for m in batch.messages} == {
        (recorded["new"], EventKind.NEW),
        (recorded["ids"][2], EventKind.DELETE),
    }


async def test_pagination(replay):
    replay("pagination")
    conn = connector(limit=2, take_into_work=False)
    pages, cursor = await read_pages(conn)
    assert pages == [["51001", "51002"], ["51003", "51004"], ["51005"]]


async def test_a_curator_retakes_with_the_department(replay):
    seen, recorded = replay("take_into_work")
    conn = connector()
    first = await conn.take_into_work(str(recorded["ids"][1]), category="ЖКХ", subcategory="Водоснабжение",
                                      executor="Управление ЖКХ")
    again = await conn.take_into_work(str(recorded["ids"][1]), category="ЖКХ", subcategory="Водоснабжение",
                                      executor="Управление ЖКХ")
    assert first["status_label"] == "принято в работу" and first["executor"] == {"name": "Управление ЖКХ"}
    assert first["subcategory"] == {"name": "Водоснабжение"} and again["revision"] == first["revision"]


async def test_status_changes(replay):
    _, recorded = replay("status_changes")
    batch = await connector().fetch(recorded["cursor"])
    a, b, c = (str(i) for i in recorded["ids"])
    assert sorted((s.external_id, s.status, s.rating) for s in batch.status_changes) == [
        (a, "rated", 5),
        (a, "solved", None),
        (b, "reopened", None),
        (b, "solved", None),
        (c, "explained", None),
        (c, "returned", None),
    ]
    assert {m.raw["status"] for m in batch.messages if m.external_id in (b, c)} == {"in_work"}


async def test_reply_posting(replay):
    seen, recorded = replay("reply_posting")
    conn = connector()
    r = answer(recorded["ids"][0], "reply-road", attachments=PHOTO)
    assert await conn.find_posted(r) is None
    first, again = await conn.send(r), await conn.send(r)
    assert not first.already_posted and again.already_posted and first.external_id == again.external_id
    assert (await conn.find_posted(r)).external_id == first.external_id
    body = posts(seen, "/answer")[0]
    assert body["result"] == "решено" and body["attachments"] == [{"url": PHOTO[0].url, "name": "answer-1.jpg"}]
    assert {q.headers["Idempotency-Key"] for q in seen if q.method == "POST"} == {"reply-road"}


async def test_an_answer_needs_its_result_before_any_request(replay):
    seen, recorded = replay("reply_posting")
    with pytest.raises(Fatal) as exc:
        await connector().send(answer(recorded["ids"][0], "reply-x", outcome=None))
    assert exc.value.code == "result" and "004 §2.3" in str(exc.value)
    with pytest.raises(Fatal):
        await connector().send(answer(recorded["ids"][0], "reply-x", kind="intermediate"))
    assert seen == []  # refused before any request


async def test_check(replay):
    replay("check_ok")
    assert await connector().check() == []
    assert any("executor" in p for p in await connector(executor="").check())


@pytest.mark.parametrize(
    ("scenario", "error", "code"),
    [
        ("error_auth", AuthFailed, "TOKEN_EXPIRED"),
        ("error_429", RateLimited, 429),
        ("error_5xx", Transient, "INTERNAL"),
        ("error_malformed", Transient, 200),
    ],
)
async def test_errors_are_classified_by_code(replay, scenario, error, code):
    replay(scenario)
    with pytest.raises(error) as exc:
        await connector().fetch(None)
    assert exc.value.code == code
    if scenario == "error_429":
        assert exc.value.retry_after == 3


async def test_a_bad_cursor_needs_an_operator(replay):
    replay("error_cursor")
    with pytest.raises(Fatal) as exc:
        await connector().fetch("bm90LWEtY3Vyc29y")
    assert exc.value.alert and exc.value.code == "BAD_CURSOR"


async def test_an_answer_to_an_appeal_not_in_work_is_refused(replay):
    _, recorded = replay("error_not_taken")
    with pytest.raises(Fatal) as exc:
        await connector().send(answer(recorded["ids"][0], "reply-too-early"))
    assert exc.value.code == "WRONG_STATUS"


async def test_a_recovered_5xx_is_retried(replay):
    replay("error_5xx_recovered")
    assert len((await connector().fetch(None)).messages) == 3


async def test_duplicate_delivery(replay):
    seen, _ = replay("duplicate_delivery")
    batch = await connector().fetch(None)
    assert sorted(m.external_id for m in batch.messages) == ["51001", "51002", "51003"]
    assert len(posts(seen, "/take")) == 3  # each appeal taken once


def test_every_recorded_payload_normalizes():
    scenarios = ("first_sync", "incremental_sync", "pagination", "status_changes", "reply_posting", "check_ok")
    for r in recorded_responses("kuzbass_online", scenarios):
        if r["status"] in (200, 201):
            KuzbassOnlineConnector.parse(r["json"])
