"""The OK connector against the recorded cassettes (fixtures/ok, replayed with respx)."""

import json

import httpx
import pytest
import respx

from connectors.base import SourceConfig
from connectors.errors import AuthFailed, RateLimited, Transient
from connectors.ok.client import sign
from connectors.ok.connector import OkConnector
from connectors.ok.cursor import Cursor
from otklik.models import Batch, EventKind, Reply, Thread
from sandbox.cassette import load, mount

BASE = "http://ok.test"
SECRETS = {
    "access_token": "tok-for-replay",
    "application_secret_key": "secret-for-replay",
    "bot_token": "bot-replay",
}
OPTIONS = {
    "application_key": "CBAEMULATORABABABA",
    "group_id": "70000000000001",
    "retry_wait": 0,
    "rps": 1000,
    # Recorded comments are as old as the recording: read all history, accept old replies.
    "backfill_hours": 1e7,
    "reply_window_hours": 1e7,
}


def connector(**options) -> OkConnector:
    cfg = SourceConfig(
        name="ok", platform="ok", base_url=BASE, secrets=SECRETS, options={**OPTIONS, **options}
    )
    return OkConnector(cfg)


def replay(scenario: str):
    cassette = load("ok", scenario)
    router = respx.mock(assert_all_called=False)
    router.start()
    seen = mount(router, cassette, BASE)
    return cassette, router, seen


def methods(seen: list[httpx.Request]) -> list[str]:
    out = []
    for r in seen:
        form = dict(httpx.QueryParams(r.content.decode())) if r.url.path == "/fb.do" else {}
        out.append(form.get("method") or r.url.path)
    return out


async def test_first_sync():
    cassette, router, seen = replay("first_sync")
    try:
        batch = await connector().fetch(None)
    finally:
        router.stop()
    texts = {
        m.external_id.split(":")[0] if m.external_id.startswith(("topic:", "mid:")) else "comment": m
        for m in batch.messages
    }
    assert set(texts) == {"topic", "comment", "mid"}
    assert len(batch.messages) == 4  # a member's topic, two comments, a chat message
    assert all(m.author.name for m in batch.messages)  # names from entities / the chat history
    assert methods(seen) == [
        "mediatopic.getTopics",
        "discussions.getComments",
        "/graph/me/chats",
        "/graph/me/messages/chat:C3e0000000010",
    ]
    # Every call is signed with the configured secrets.
    form = dict(httpx.QueryParams(seen[0].content.decode()))
    assert form["sig"] == sign(form, SECRETS["access_token"], SECRETS["application_secret_key"])
    cursor = Cursor.load(batch.next_cursor)
    assert cursor.polls == 1 and any(d.n == 2 for d in cursor.d.values()) and cursor.c


async def test_incremental_sync_reads_only_what_moved():
    cassette, router, seen = replay("incremental_sync")
    try:
        batch = await connector().fetch(cassette["cursor"])
    finally:
        router.stop()
    assert sorted(m.text for m in batch.messages) == [
        "В чате: когда отремонтируют крышу?",
        "И на Школьной тоже ямы после зимы.",
    ]
    forward = dict(httpx.QueryParams(seen[1].content.decode()))
    assert forward["direction"] == "FORWARD" and forward["anchor"] != "FIRST"  # from the stored anchor


async def test_pagination_follows_anchors():
    cassette, router, seen = replay("pagination")
    try:
        batch = await connector(page_size=50).fetch(cassette["cursor"])
    finally:
        router.stop()
    assert len(batch.messages) == 120 and len({m.external_id for m in batch.messages}) == 120
    anchors = [
        dict(httpx.QueryParams(r.content.decode()))["anchor"]
        for r in seen
        if methods([r]) == ["discussions.getComments"]
    ]
    assert len(anchors) == 3 and len(set(anchors)) == 3
    assert not batch.has_more


async def test_pagination_stops_at_max_pages_and_asks_to_come_back():
    cassette, router, seen = replay("pagination")
    try:
        batch = await connector(page_size=50, max_pages=2).fetch(cassette["cursor"])
    finally:
        router.stop()
    assert len(batch.messages) == 100 and batch.has_more
    state = next(s for s in Cursor.load(batch.next_cursor).d.values() if s.n == -1)
    assert state.a != "FIRST"  # continues from the second page's anchor


async def test_deleted_comment_is_reported():
    cassette, router, seen = replay("deletion")
    try:
        batch = await connector().fetch(cassette["cursor"])
    finally:
        router.stop()
    [gone] = batch.messages
    assert gone.event == EventKind.DELETE and gone.external_id == cassette["deleted"]


async def test_reply_posting():
    cassette, router, seen = replay("reply_posting")
    conn = connector()
    comment, chat = cassette["comment"], cassette["chat"]
    try:
        d1 = await conn.send(
            Reply(
                id="r1",
                source="ok",
                platform="ok",
                text="Здравствуйте! Ремонт ямы на улице Мира запланирован на эту неделю.",
                thread=Thread(
                    kind="discussion",
                    ids={
                        "discussion_id": comment["discussion_id"],
                        "discussion_type": "GROUP_TOPIC",
                        "comment_id": comment["id"],
                    },
                ),
            )
        )
        d2 = await conn.send(
            Reply(
                id="r2",
                source="ok",
                platform="ok",
                text="Здравствуйте! Льготы оформляют в МФЦ.",
                thread=Thread(kind="chat", ids=chat),
            )
        )
    finally:
        router.stop()
    assert d1.external_id == cassette["interactions"][0]["response"]["json"]
    assert d1.url == f"https://ok.ru/group/70000000000001/topic/{comment['discussion_id']}"
    assert d2.external_id == cassette["interactions"][1]["response"]["json"]["message_id"]
    form = dict(httpx.QueryParams(seen[0].content.decode()))
    assert form["as_admin"] == "true" and form["reply_to_comment_id"] == comment["id"]
    assert json.loads(seen[1].content) == {
        "recipient": {"chat_id": chat["chat_id"]},
        "message": {"text": "Здравствуйте! Льготы оформляют в МФЦ."},
    }


async def test_find_posted_reads_back():
    cassette, router, seen = replay("find_posted")
    reply = Reply.model_validate(cassette["reply"])
    try:
        found = await connector().find_posted(reply)
        other = await connector().find_posted(reply.model_copy(update={"text": "Совсем другой ответ"}))
    finally:
        router.stop()
    assert found is not None and found.already_posted and found.external_id
    assert other is None


@pytest.mark.parametrize(
    ("scenario", "error"),
    [
        ("error_2_service", Transient),
        ("error_8_flood", RateLimited),
        ("error_102_session_expired", AuthFailed),
        ("error_104_bad_signature", AuthFailed),
        ("error_malformed", Transient),
        ("error_graph_502", Transient),
        ("error_graph_429", RateLimited),
    ],
)
async def test_errors(scenario, error):
    cassette, router, seen = replay(scenario)
    try:
        with pytest.raises(error) as exc:
            await connector(flood_retry_after=4).fetch(None)
    finally:
        router.stop()
    assert exc.value.kind == cassette["raises"]
    if scenario == "error_104_bad_signature":
        assert exc.value.alert  # an operator has to fix the keys
    if scenario == "error_graph_429":
        assert exc.value.retry_after == 7  # Retry-After honoured
    if scenario == "error_8_flood":
        assert exc.value.retry_after == 4  # OK says nothing: the configured pause
    if error is Transient and "graph" not in scenario:
        assert len(seen) == 3  # reads are retried (read_attempts) before giving up


async def test_webhook_deliveries_store_once(db):
    cassette = load("ok", "webhook_delivery")
    deliveries = [i["request"] for i in cassette["interactions"] if i["request"]["path"] == "/webhooks/ok"]
    assert len(deliveries) == 2  # the first answer failed; OK delivered again
    conn = connector(webhook=True)
    for d in deliveries:
        result = await conn.handle_webhook(json.dumps(d["json"]).encode(), d["headers"])
        db.ingest("ok", Batch(messages=result.messages))
    assert db.count_messages("ok") == 1
