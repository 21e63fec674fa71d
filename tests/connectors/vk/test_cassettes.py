"""The VK connector against the recorded cassettes (fixtures/vk, recorded from the emulator by
`python -m sandbox.vk.record`), replayed with respx: no emulator, no network."""

import contextlib
import json

import httpx
import pytest
import respx

from connectors.base import SourceConfig
from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.vk.connector import Cursor, VkConnector
from otklik.models import EventKind, Reply
from sandbox.cassette import load, mount

BASE = "https://api.vk.test"
GROUP_ID = 218000001
START = 1_767_250_800  # the recordings' clock
SECRETS = {
    "token": "{token}",
    "service_token": "{service_token}",
    "user_token": "{user_token}",
    "callback_secret": "{callback_secret}",
}


class NoWait:
    """Replays need no rate limit (the live tests check the limiter)."""

    async def wait(self, key: str, rate: int, per: float = 1.0) -> None:
        return None


def connector(secrets=None, **options) -> VkConnector:
    cfg = SourceConfig(
        name="vk:main",
        platform="vk",
        base_url=BASE,
        secrets=secrets or SECRETS,
        options={"group_id": GROUP_ID, "wait": 0, "read_backoff": 0.001, **options},
    )
    conn = VkConnector(cfg, limiter=NoWait())
    conn.clock = lambda: START + 300
    return conn


@contextlib.contextmanager
def replay(scenario: str):
    with respx.mock(assert_all_called=False) as router:
        seen = mount(router, load("vk", scenario), BASE)
        yield seen


def calls(seen: list[httpx.Request]) -> list[str]:
    return [r.url.path.removeprefix("/method/") for r in seen]


def form(request: httpx.Request) -> dict:
    return dict(httpx.QueryParams(request.content.decode())) if request.content else dict(request.url.params)


async def drain(conn: VkConnector, cursor=None):
    messages = []
    for _ in range(50):
        batch = await conn.fetch(cursor)
        messages += batch.messages
        cursor = batch.next_cursor or cursor
        if not batch.has_more:
            break
    return messages, cursor


def reply_to(m, text: str) -> Reply:
    return Reply(id=f"reply-{m.external_id}", source="vk:main", platform="vk", thread=m.thread, text=text)


async def test_first_sync_takes_the_position_and_backfills():
    conn = connector(backfill_days=1)
    with replay("first_sync") as seen:
        messages, cursor = await drain(conn)
    assert {m.thread.kind for m in messages} == {"wall", "board", "message"}
    assert len(messages) == 4 and all(m.author.name for m in messages if m.thread.kind != "message")
    assert calls(seen) == [
        "groups.getLongPollServer",
        "wall.get",
        "wall.get",
        "wall.getComments",
        "board.getTopics",
        "board.getComments",
        "messages.getConversations",
        "messages.getHistory",
        "/whp/218000001",
    ]
    assert form(seen[1])["filter"] == "others" and form(seen[2])["filter"] == "owner"
    assert form(seen[1])["access_token"] == "{service_token}"  # wall reading needs a service token
    assert form(seen[6])["access_token"] == "{token}"  # community messages: the community token
    state = Cursor.load(cursor)
    assert state.ts == "4" and state.reconcile is None
    assert "key" not in cursor  # the long poll key never goes into the database


async def test_incremental_sync_edits_deletions_and_own_comments():
    conn = connector()
    with replay("incremental_sync") as seen:
        _, cursor = await drain(conn)
        first = await conn.fetch(cursor)
        comment, thread_reply, message = first.messages
        delivery = await conn.send(reply_to(comment, "Здравствуйте! Подачу воды восстановят к вечеру."))
        second = await conn.fetch(first.next_cursor)
        third = await conn.fetch(second.next_cursor)
    assert (
        thread_reply.reply_to == comment.external_id
        and thread_reply.thread.ids["comment_id"] != comment.thread.ids["comment_id"]
    )
    assert message.attachments[0].type == "photo"
    assert [(m.event, m.external_id) for m in second.messages] == [
        (EventKind.EDIT, comment.external_id),
        (EventKind.NEW, "wall-218000001_2_6"),
        (EventKind.DELETE, "wall-218000001_2_6"),
    ]
    assert "улица Мира" in second.messages[0].text
    assert delivery.external_id == "wall-218000001_2_5"  # our comment (id 5) came back and was skipped
    assert third.messages == [] and not third.has_more
    assert json.loads(third.next_cursor)["ts"] == json.loads(second.next_cursor)["ts"]
    create = form(next(r for r in seen if r.url.path.endswith("wall.createComment")))
    assert create["from_group"] == str(GROUP_ID) and create["reply_to_comment"] == "3" and create["guid"]


async def test_pagination_reads_every_page():
    conn = connector(backfill_days=1, page_size=2)
    with replay("pagination") as seen:
        messages, cursor = await drain(conn)
    texts = sorted(m.text for m in messages)
    assert len(texts) == 14 and len(set(texts)) == 14  # each once: a thread read in full is not taken inline
    paged = [
        (c, form(r).get("offset"), form(r).get("comment_id"))
        for c, r in zip(calls(seen), seen, strict=True)
        if c == "wall.getComments"
    ]
    assert ("wall.getComments", "2", None) in paged  # the second page of top-level comments
    assert any(comment_id for _, _, comment_id in paged)  # the long thread read by comment_id
    assert calls(seen).count("messages.getHistory") == 3 and Cursor.load(cursor).reconcile is None


async def test_failed_1_takes_the_new_ts_and_reconciles():
    conn = connector()
    with replay("long_poll_failed_1") as seen:
        _, cursor = await drain(conn)
        messages, cursor = await drain(conn, cursor)
    assert [m.text for m in messages] == ["Сообщение, потерянное в разрыве."]
    assert "wall.get" in calls(seen) and Cursor.load(cursor).ts == "1"


async def test_failed_2_gets_a_new_key_and_keeps_ts():
    conn = connector()
    with replay("long_poll_failed_2") as seen:
        _, cursor = await drain(conn)
        messages, _ = await drain(conn, cursor)
    assert [m.text for m in messages] == ["Ничего не потеряно при смене ключа."]
    assert calls(seen).count("groups.getLongPollServer") == 2 and "wall.get" not in calls(seen)
    polls = [form(r) for r in seen if r.url.path.startswith("/whp/")]
    # [key1/ts0 (empty), key1/ts0 -> failed 2, key2/ts0 -> the message, key2/ts1 (empty)]
    assert polls[2]["key"] != polls[1]["key"] and polls[2]["ts"] == polls[1]["ts"]


async def test_failed_3_new_key_new_ts_and_reconciles():
    conn = connector()
    with replay("long_poll_failed_3") as seen:
        _, cursor = await drain(conn)
        messages, _ = await drain(conn, cursor)
    assert "Сообщение перед потерей информации." in [m.text for m in messages]
    assert calls(seen).count("groups.getLongPollServer") == 2 and "wall.getComments" in calls(seen)


async def test_reply_posting_everywhere_and_idempotent():
    conn = connector()
    with replay("reply_posting") as seen:
        _, cursor = await drain(conn)
        batch = await conn.fetch(cursor)
        texts = [
            "Здравствуйте! Мусор вывезут сегодня.",
            "Здравствуйте! И там тоже.",
            "Спасибо! Рассмотрим.",
            "Здравствуйте! В МФЦ.",
            "Каток откроют 15 декабря.",
        ]
        deliveries = [await conn.send(reply_to(m, t)) for m, t in zip(batch.messages, texts, strict=True)]
        again = await conn.send(reply_to(batch.messages[0], texts[0]))
    assert again.external_id == deliveries[0].external_id  # the same guid: VK returned the same comment
    methods = [c for c in calls(seen) if "create" in c or "send" in c]
    assert methods == ["wall.createComment"] * 3 + [
        "messages.send",
        "board.createComment",
        "wall.createComment",
    ]
    board = form(next(r for r in seen if r.url.path.endswith("board.createComment")))
    assert board["access_token"] == "{user_token}" and board["from_group"] == "1"
    send = form(next(r for r in seen if r.url.path.endswith("messages.send")))
    assert json.loads(send["forward"])["is_reply"] is True and int(send["random_id"]) > 0


async def test_find_posted_reads_back():
    conn = connector()
    with replay("find_posted"):
        wall = Reply(
            id="reply-wall-218000001_2_3",
            source="vk:main",
            platform="vk",
            text="Фонарь починят завтра.",
            thread={"kind": "wall", "ids": {"owner_id": -GROUP_ID, "post_id": 2, "comment_id": 3}},
        )
        message = Reply(
            id="reply-msg591_1",
            source="vk:main",
            platform="vk",
            text="Воду дадут к 18:00.",
            thread={"kind": "message", "ids": {"peer_id": 591, "conversation_message_id": 1}},
        )
        results = []
        for r in (wall, message):
            results.append(await conn.find_posted(r))
            await conn.send(r)
            results.append(await conn.find_posted(r))
    assert results[0] is None and results[2] is None
    assert results[1].already_posted and results[1].external_id.startswith("wall-218000001_2_")
    assert results[3].already_posted and results[3].external_id.startswith("msg591_out")


@pytest.mark.parametrize(
    ("scenario", "error", "code"),
    [
        ("error_5_auth", AuthFailed, 5),
        ("error_6_rate", RateLimited, 6),
        ("error_10_internal", Transient, 10),
        ("error_5xx", Transient, 502),
    ],
)
async def test_read_errors(scenario, error, code):
    with replay(scenario), pytest.raises(error) as exc:
        await connector().fetch(None)
    assert exc.value.code == code
    if error is RateLimited:
        assert exc.value.retry_after == 1.0


async def test_internal_error_once_is_retried():
    with replay("error_10_recovered") as seen:
        batch = await connector().fetch(None)
    assert batch.next_cursor and calls(seen) == ["groups.getLongPollServer"] * 2


async def test_malformed_long_poll_is_transient():
    conn = connector()
    with replay("error_malformed") as seen, pytest.raises(Transient):
        cursor = (await conn.fetch(None)).next_cursor
        await conn.fetch(cursor)
    assert calls(seen).count("/whp/218000001") == 3  # retried, then given up


async def test_write_errors():
    conn = connector()
    message = Reply(
        id="reply-msg610_1",
        source="vk:main",
        platform="vk",
        text="Здравствуйте!",
        thread={"kind": "message", "ids": {"peer_id": 610, "conversation_message_id": 1}},
    )
    with replay("error_14_captcha") as seen, pytest.raises(AuthFailed) as exc:
        await conn.send(message)
    assert exc.value.code == 14 and exc.value.alert and len(seen) == 1  # writes are never retried here
    denied = Reply(
        id="reply-msg620_1",
        source="vk:main",
        platform="vk",
        text="Обращайтесь!",
        thread={"kind": "message", "ids": {"peer_id": 620, "conversation_message_id": 1}},
    )
    with replay("error_901_messages_denied"), pytest.raises(Fatal) as exc:
        await connector().send(denied)
    assert exc.value.code == 901
    first = Reply(
        id="reply-wall-218000001_2_3",
        source="vk:main",
        platform="vk",
        text="Засыплем.",
        thread={"kind": "wall", "ids": {"owner_id": -GROUP_ID, "post_id": 2, "comment_id": 3}},
    )
    second = Reply(
        id="reply-wall-218000001_2_4",
        source="vk:main",
        platform="vk",
        text="И эту засыплем.",
        thread={"kind": "wall", "ids": {"owner_id": -GROUP_ID, "post_id": 2, "comment_id": 4}},
    )
    conn = connector()
    with replay("error_9_flood"):
        await conn.send(first)
        with pytest.raises(RateLimited) as exc:
            await conn.send(second)
    assert exc.value.code == 9 and exc.value.retry_after == 60


async def test_wrong_token_type_alerts():
    conn = connector(secrets={"token": "{token}", "service_token": "{token}"}, backfill_days=1)
    with replay("error_27_token_type"), pytest.raises(AuthFailed) as exc:
        await drain(conn)
    assert exc.value.code == 27 and exc.value.alert


async def test_daily_quota_waits_until_tomorrow():
    conn = connector()
    with replay("error_29_quota"):
        assert await conn.check() == []
        problems = await conn.check()
    assert len(problems) == 1 and "daily quota" in problems[0]


async def test_check_ok():
    with replay("check_ok") as seen:
        assert await connector().check() == []
    assert calls(seen) == ["groups.getById", "groups.getLongPollSettings", "wall.get"]


async def test_webhook_deliveries_replayed():
    cassette = load("vk", "webhook_deliveries")
    conn = connector(mode="callback")
    deliveries = [i for i in cassette["interactions"] if i["request"]["path"].startswith("/webhooks/")]
    answers, stored = [], []
    with replay("webhook_deliveries"):
        for d in deliveries:
            body = json.dumps(d["request"]["json"]).encode()
            result = await conn.handle_webhook(body, d["request"].get("headers", {}))
            answers.append((result.body, d["response"]["text"] if d["response"]["status"] == 200 else "ok"))
            stored += [m.external_id for m in result.messages]
    assert all(ours == theirs for ours, theirs in answers)  # the code first, then "ok" to every event
    assert answers[0][0] == "5e1f7a2c"
    events = [d["request"]["json"]["event_id"] for d in deliveries[1:]]
    assert len(events) == 4 and len(set(events)) == 2  # a retry and a duplicate, each with its event_id
    assert all(conn.is_repeat(e) for e in events)
    assert len(set(stored)) == 2  # repeats hand the same messages again: the store dedupes by external id
    with pytest.raises(AuthFailed):
        forged = {**deliveries[1]["request"]["json"], "secret": "guess"}
        await conn.handle_webhook(json.dumps(forged).encode(), {})
