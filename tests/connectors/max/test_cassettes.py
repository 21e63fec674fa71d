"""The MAX connector against cassettes recorded from the emulator (fixtures/max, replayed by respx):
the exact wire exchanges of each scenario, without a server. Re-record: python -m sandbox.max.record"""

import json

import pytest
import respx

from connectors.base import SourceConfig
from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.max.connector import MaxConnector
from connectors.max.mapping import map_message
from otklik.models import Attachment, EventKind, Reply
from sandbox import cassette

BASE = "https://platform-api2.max.ru"
TOKEN = "test-max-token"
BOT_ID = 9_000_001


def connector(**options) -> MaxConnector:
    cfg = SourceConfig(name="max:main", platform="max", base_url=BASE, secrets={"token": TOKEN},
                       options={"poll_timeout": 0, "retry_backoff": 0.001, **options})
    return MaxConnector(cfg)


@pytest.fixture
def replay():
    with respx.mock(assert_all_called=False) as router:
        yield lambda scenario: cassette.mount(router, cassette.load("max", scenario), BASE)


def reply(message, text, rid="r1", **kw) -> Reply:
    return Reply(id=rid, source="max:main", platform="max", thread=message.thread,
                 in_reply_to=message.external_id, text=text, **kw)


def citizen_message_answered_by(sent: dict):
    """The citizen's message a recorded answer replied to, rebuilt from the answer's link."""
    return map_message({"recipient": sent["recipient"], "timestamp": sent["timestamp"], "sender": {"user_id": 1},
                        "body": {"mid": sent["link"]["message"]["mid"], "seq": 1, "text": "вопрос"}},
                       EventKind.NEW, "max:main")


async def test_first_sync(replay):
    seen = replay("first_sync")
    batch = await connector().fetch(None)
    assert all(r.headers["Authorization"] == TOKEN for r in seen)  # raw token, no "Bearer", not in the URL
    assert all(TOKEN not in str(r.url) for r in seen)
    assert "marker" not in seen[1].url.params and seen[1].url.params["types"].startswith("message_created")
    dialog, chat, comment, photo = batch.messages  # the post, the bodyless and the service update skipped
    assert dialog.thread.kind == "dialog" and dialog.thread.ids["user_id"] == int(dialog.author.id)
    assert dialog.external_id.startswith("mid.") and dialog.created_at.year == 2026
    assert chat.thread.kind == "chat" and chat.thread.ids["chat_id"] < 0
    assert comment.thread.kind == "comment" and comment.thread.ids["post_id"].startswith("mid.")
    assert photo.attachments[0].type == "photo" and photo.attachments[0].url and photo.text
    assert batch.next_cursor == cassette.load("max", "first_sync")["next_cursor"] and not batch.rejected


async def test_incremental_sync_passes_the_marker_and_carries_edits_and_removals(replay):
    seen = replay("incremental_sync")
    conn = connector()
    first = await conn.fetch(None)
    second = await conn.fetch(first.next_cursor)
    assert seen[2].url.params["marker"] == first.next_cursor
    edit, removal, new = second.messages
    assert edit.event == EventKind.EDIT and edit.external_id == first.messages[0].external_id and edit.edited_at
    assert removal.event == EventKind.DELETE and removal.external_id == first.messages[1].external_id
    assert removal.thread.kind == "comment" and new.thread.kind == "chat"
    third = await conn.fetch(second.next_cursor)
    assert third.messages == [] and third.next_cursor == second.next_cursor


async def test_pagination_follows_the_marker(replay):
    replay("pagination")
    conn = connector(limit=2)
    cursor, ids, pages = None, [], 0
    while True:
        batch = await conn.fetch(cursor)
        ids += [m.external_id for m in batch.messages]
        cursor, pages = batch.next_cursor, pages + 1
        if not batch.has_more:
            break
    assert len(ids) == len(set(ids)) == 5 and pages == 3


@pytest.mark.parametrize(("scenario", "error", "code"), [
    ("error_429", RateLimited, "too.many.requests"),
    ("error_5xx", Transient, "internal.error"),
    ("error_auth", AuthFailed, "verify.token"),
    ("error_malformed", Transient, 200),
])
async def test_errors_are_classified(replay, scenario, error, code):
    replay(scenario)
    recorded = cassette.load("max", scenario)
    with pytest.raises(error) as exc:
        await connector(read_attempts=3 if scenario == "error_5xx" else 1).fetch(None)
    assert exc.value.code == code == recorded["code"] and exc.value.kind == recorded["error"]


async def test_a_5xx_is_retried_for_reads(replay):
    replay("error_5xx_recovered")
    batch = await connector(read_attempts=3).fetch(None)
    assert [m.text for m in batch.messages] == ["Вопрос про отопление"]


async def test_duplicate_delivery_keeps_the_marker_and_the_ids(replay):
    replay("duplicate_delivery")
    conn = connector()
    first = await conn.fetch(None)
    again = await conn.fetch(first.next_cursor)
    assert [m.external_id for m in first.messages] == [m.external_id for m in again.messages]
    assert len({m.external_id for m in first.messages}) == 1  # the same update twice, one mid
    assert again.next_cursor == first.next_cursor
    new = await conn.fetch(again.next_cursor)
    assert [m.text for m in new.messages] == ["И ещё вопрос про свет"]


async def test_reply_posting_in_each_thread(replay):
    seen = replay("reply_posting")
    recorded = cassette.load("max", "reply_posting")
    conn = connector()
    for n, it in enumerate(recorded["interactions"][:3]):
        sent = it["response"]["json"]["message"]
        delivery = await conn.send(reply(citizen_message_answered_by(sent), it["request"]["match"]["text"], f"r{n}"))
        assert delivery.external_id == sent["body"]["mid"]
    dialog, chat, comment = (json.loads(r.content) for r in seen)
    assert all(b["link"]["type"] == "reply" for b in (dialog, chat, comment))
    assert seen[0].url.params.get("chat_id") and seen[1].url.params["chat_id"].startswith("-")
    assert seen[2].url.path.endswith("/comments")


async def test_stopped_dialog_is_fatal(replay):
    replay("reply_posting")
    recorded = cassette.load("max", "reply_posting")
    blocked = recorded["interactions"][3]
    dialog = citizen_message_answered_by(recorded["interactions"][0]["response"]["json"]["message"])
    with pytest.raises(Fatal) as exc:
        await connector().send(reply(dialog, blocked["request"]["match"]["text"]))
    assert exc.value.code == "chat.denied" == recorded["code"] and exc.value.alert


async def test_attachment_upload_retries_until_ready(replay, tmp_path):
    seen = replay("attachment_upload")
    recorded = cassette.load("max", "attachment_upload")
    sent = recorded["interactions"][-1]["response"]["json"]["message"]
    m = citizen_message_answered_by(sent)
    scheme = tmp_path / "scheme.pdf"
    scheme.write_bytes(b"%PDF-1.4")
    delivery = await connector().send(reply(m, "Схема во вложении.", attachments=[Attachment(type="file", url=str(scheme))]))
    assert [r.url.path.split("/")[1] for r in seen] == ["uploads", "_upload", "messages", "messages"]
    assert seen[0].url.params["type"] == "file" and b'name="data"' in seen[1].content
    body = json.loads(seen[-1].content)
    assert body["attachments"][0]["payload"]["token"] and delivery.external_id == sent["body"]["mid"]
