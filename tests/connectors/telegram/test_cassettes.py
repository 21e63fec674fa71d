"""The connector against cassettes recorded from the emulator (fixtures/telegram, replayed by respx):
the exact wire exchanges of each scenario, without a server."""

import json

import pytest
import respx

from connectors.base import SourceConfig
from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.telegram.connector import SECRET_HEADER, TelegramConnector
from otklik.models import Batch, EventKind, Reply, Thread
from sandbox import cassette

BASE = "https://api.telegram.test"
SECRET = "test-webhook-secret"
DISCUSSION_ID = -1001000000003


def connector(**options) -> TelegramConnector:
    cfg = SourceConfig(
        name="telegram:main",
        platform="telegram",
        base_url=BASE,
        secrets={"token": "123456:test-token", "webhook_secret": SECRET},
        options={"poll_timeout": 0, "retry_backoff": 0.001, **options},
    )
    return TelegramConnector(cfg)


@pytest.fixture
def replay():
    with respx.mock(assert_all_called=False) as router:
        yield lambda scenario: cassette.mount(router, cassette.load("telegram", scenario), BASE)


def body(request) -> dict:
    return json.loads(request.content)


def reply(chat_id, message_id, text="Здравствуйте!", **ids) -> Reply:
    return Reply(
        id=f"r-{chat_id}-{message_id}",
        source="telegram:main",
        platform="telegram",
        text=text,
        thread=Thread(kind="chat", ids={"chat_id": chat_id, "message_id": message_id, **ids}),
    )


async def test_first_sync(replay):
    seen = replay("first_sync")
    conn = connector()
    batch = await conn.fetch(None)
    assert "offset" not in body(seen[0]) and body(seen[0])["allowed_updates"] == [
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
    ]
    private, group, comment, photo = batch.messages  # the channel post and its forward are skipped
    assert private.thread.ids == {"chat_id": private.author.id and int(private.author.id), "message_id": 1}
    assert private.author.name == "Анна Берёзкина" and private.author.url == "https://t.me/resident_1"
    assert group.url == "https://t.me/severny_chat/1" and group.thread.ids["chat_id"] < 0
    assert comment.thread.ids["chat_id"] == DISCUSSION_ID and comment.thread.ids["message_thread_id"] == 1
    assert comment.reply_to == f"{DISCUSSION_ID}:1"
    assert photo.attachments[0].type == "photo" and photo.text
    assert batch.next_cursor == "100006" and not batch.has_more
    assert -1001000000002 in conn.own_chat_ids  # the channel, learnt from its automatic forward


async def test_incremental_sync_confirms_and_carries_edits(replay):
    seen = replay("incremental_sync")
    conn = connector()
    first = await conn.fetch(None)
    second = await conn.fetch(first.next_cursor)
    assert body(seen[1])["offset"] == int(first.next_cursor)
    edit, new = second.messages
    assert (
        edit.event == EventKind.EDIT and edit.external_id == first.messages[0].external_id and edit.edited_at
    )
    assert new.event == EventKind.NEW
    third = await conn.fetch(second.next_cursor)
    assert third == Batch()  # nothing new: the stored cursor stays


async def test_pagination(replay):
    replay("pagination")
    conn = connector(limit=2)
    cursor, ids, pages = None, [], []
    while True:
        batch = await conn.fetch(cursor)
        ids += [m.external_id for m in batch.messages]
        pages.append(batch.has_more)
        cursor = batch.next_cursor or cursor
        if not batch.has_more:
            break
    assert pages == [True, True, False] and len(set(ids)) == 5


async def test_duplicate_delivery_is_recognised_by_external_id(replay, db):
    replay("duplicate_delivery")
    conn = connector()
    first = await conn.fetch(None)
    db.ingest("telegram:main", first)
    second = await conn.fetch(first.next_cursor)
    assert [m.external_id for m in second.messages][0] == first.messages[0].external_id
    assert int(second.next_cursor) > int(first.next_cursor)  # the old update never moves the cursor back
    result = db.ingest("telegram:main", second)
    assert result.new == 1 and db.count_messages("telegram:main") == 2


async def test_a_5xx_read_is_retried(replay):
    seen = replay("error_5xx_recovered")
    batch = await connector().fetch(None)
    assert len(seen) == 2 and len(batch.messages) == 1


@pytest.mark.parametrize("scenario", ["error_5xx", "error_malformed"])
async def test_persistent_failures_are_transient(replay, scenario):
    seen = replay(scenario)
    with pytest.raises(Transient):
        await connector().fetch(None)
    assert len(seen) == 3  # the read retries, then gives up


async def test_429_is_not_retried_and_carries_retry_after(replay):
    seen = replay("error_429")
    with pytest.raises(RateLimited) as exc:
        await connector().fetch(None)
    assert exc.value.retry_after == 5 and len(seen) == 1


async def test_revoked_token(replay):
    replay("error_auth")
    with pytest.raises(AuthFailed) as exc:
        await connector().fetch(None)
    assert exc.value.code == 401


async def test_conflict_with_a_webhook(replay):
    seen = replay("error_conflict")
    conn = connector()
    await conn.register_webhook("http://127.0.0.1:9/webhooks/telegram:main")
    with pytest.raises(Fatal) as exc:
        await conn.fetch(None)
    assert exc.value.code == 409 and exc.value.alert and len(seen) == 2  # 409 is not retried
    assert "deleteWebhook" in str(exc.value) and "options.webhook = true" in str(exc.value)


async def test_reply_posting(replay):
    seen = replay("reply_posting")
    conn = connector()
    [m] = (await conn.fetch(None)).messages
    delivery = await conn.send(
        reply(
            m.thread.ids["chat_id"],
            m.thread.ids["message_id"],
            "Здравствуйте! Мусор вывезут сегодня до 18:00.",
        )
    )
    sent = body(seen[-1])
    assert sent["reply_parameters"] == {"message_id": 1, "allow_sending_without_reply": True}  # private chat
    assert delivery.external_id == f"{m.thread.ids['chat_id']}:2" and delivery.url is None


async def test_reply_in_discussion_thread(replay):
    seen = replay("reply_in_discussion")
    conn = connector()
    [m] = (await conn.fetch(None)).messages
    delivery = await conn.send(reply(**m.thread.ids, text="Здравствуйте! Тротуары очистят до конца недели."))
    sent = body(seen[-1])
    assert sent["message_thread_id"] == m.thread.ids["message_thread_id"]
    assert sent["reply_parameters"]["allow_sending_without_reply"] is False  # in a group, never detached
    assert delivery.url == f"https://t.me/c/1000000003/{delivery.external_id.split(':')[1]}"


async def test_send_errors_are_fatal(replay):
    replay("send_errors")
    conn = connector()
    with pytest.raises(Fatal) as blocked:
        await conn.send(reply(570, 1))
    with pytest.raises(Fatal) as gone:
        await conn.send(reply(-1001000000001, 1, "Здравствуйте! Площадку отремонтируют."))
    assert (blocked.value.code, gone.value.code) == (403, 400)


async def test_send_rate_limited(replay):
    replay("send_rate_limited")
    await connector().send(reply(580, 1, "Здравствуйте! В любом отделении банка."))
    with pytest.raises(RateLimited) as exc:
        await connector().send(reply(580, 1, "И через приложение банка."))  # another process, its own limiter
    assert exc.value.retry_after == 1


async def test_check(replay):
    replay("check_ok")
    assert await connector().check() == []


async def test_check_sees_a_webhook_conflict(replay):
    replay("check_webhook_conflict")
    conn = connector()
    await conn.register_webhook("http://127.0.0.1:9/webhooks/telegram:main")
    [problem] = await conn.check()
    assert "409" in problem


async def test_webhook_deliveries(replay):
    recorded = cassette.load("telegram", "webhook_deliveries")["interactions"]
    replay("webhook_deliveries")
    conn = connector(webhook=True, webhook_url="https://otklik.example/webhooks/telegram:main")
    await conn.register_webhook()
    deliveries = [i["request"] for i in recorded if i["request"]["path"].startswith("/webhooks/")]
    ids = set()
    for delivery in deliveries:
        headers = {k: v.replace("{webhook_secret}", SECRET) for k, v in delivery["headers"].items()}
        result = await conn.handle_webhook(json.dumps(delivery["json"]).encode(), headers)
        ids |= {m.external_id for m in result.messages}
    assert len(deliveries) == 6 and len(ids) == 3  # a retried delivery maps to the same message
    with pytest.raises(AuthFailed):
        await conn.handle_webhook(json.dumps(deliveries[0]["json"]).encode(), {SECRET_HEADER: "guess"})
    with pytest.raises(AuthFailed):
        await conn.handle_webhook(json.dumps(deliveries[0]["json"]).encode(), {})
    lowercase = await conn.handle_webhook(
        json.dumps(deliveries[0]["json"]).encode(), {SECRET_HEADER.lower(): SECRET}
    )
    assert lowercase.messages  # header names are case-insensitive
    assert await conn.fetch(None) == Batch()  # webhook mode: nothing to poll
    [problem] = await conn.check()
    assert "last webhook delivery failed" in problem


async def test_conflict_is_a_configuration_problem_the_operator_sees(replay, db):
    """409 while polling: the poll loop records it for /healthz and raises an operator alert with
    what to do, instead of retrying quietly forever."""
    from otklik.poller import PollLoop
    from storage import sources as source_state

    alerts = []

    async def on_alert(kind, source, text):
        alerts.append((kind, source, text))

    replay("error_conflict")
    conn = connector()
    await conn.register_webhook("http://127.0.0.1:9/webhooks/telegram:main")
    delay = await PollLoop(conn, db, on_alert=on_alert).step()
    assert delay > 0
    [(kind, source, text)] = alerts
    assert (kind, source) == ("fatal", "telegram:main") and "deleteWebhook" in text
    state = source_state.all_states(db)["telegram:main"]
    assert state["status"] == "fatal" and "options.webhook = true" in state["last_error"]
