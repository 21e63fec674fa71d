"""The MAX connector against the live emulator over real HTTP, every injected fault included."""

import asyncio

import pytest

from connectors.base import SourceConfig, WebhookRefused
from connectors.errors import AuthFailed, ConnectorError, Fatal, RateLimited, Transient
from connectors.max.connector import MaxConnector
from otklik.models import Attachment, Batch, EventKind, Reply
from otklik.poller import poll_once
from sandbox.max.emulator import BOT, CHANNEL, GROUP, TOKEN, MaxEmulator
from sandbox.runner import serving
from sandbox.telegram.receiver import WebhookReceiver


@pytest.fixture
def mx():
    emulator = MaxEmulator(long_poll_cap=0.5)
    with serving(emulator) as server:
        yield server, emulator


def connector(server, secrets=None, **options) -> MaxConnector:
    cfg = SourceConfig(name="max", platform="max", base_url=server.url,
                       secrets={"token": TOKEN, **(secrets or {})},
                       options={"poll_timeout": 0, "retry_backoff": 0.01, **options})
    return MaxConnector(cfg)


def reply_to(message, text="Здравствуйте! Разбираемся.", rid=None, **kw) -> Reply:
    return Reply(id=rid or f"r-{message.external_id}", source="max", platform="max", text=text,
                 thread=message.thread, in_reply_to=message.external_id, **kw)


async def test_dialog_chat_and_comment_answered_in_their_threads(mx, db):
    server, emulator = mx
    server.call(emulator.inject, {"text": "Нет воды в доме", "author_id": 11})
    server.call(emulator.inject, {"text": "Яма на дороге", "chat": "chat", "author_id": 12})
    server.call(emulator.inject, {"chat": "channel_post", "text": "Пост администрации"})
    server.call(emulator.inject, {"text": "А у нас когда?", "chat": "channel_comment", "author_id": 13})
    conn = connector(server)
    await poll_once(conn, db)
    assert db.count_messages("max") == 3  # the post is the administration's own
    batch = await conn.fetch(None)  # not confirmed yet from MAX's side: the same three again
    by_kind = {m.thread.kind: m for m in batch.messages}
    assert set(by_kind) == {"dialog", "chat", "comment"}
    for m in by_kind.values():
        await conn.send(reply_to(m))
    dialog, chat, comment = emulator.replies
    assert (dialog["chat_type"], dialog["reply_to"]) == ("dialog", by_kind["dialog"].external_id)
    assert (chat["chat_id"], chat["reply_to"]) == (GROUP["chat_id"], by_kind["chat"].external_id)
    assert comment["post_id"] == by_kind["comment"].thread.ids["post_id"]
    assert comment["reply_to"] == by_kind["comment"].external_id
    # Our own message in the group chat comes back as an update and is not a citizen's.
    result = await poll_once(conn, db)
    assert result.new == 0 and db.count_messages("max") == 3
    await conn.aclose()


async def test_marker_confirms_only_what_was_stored(mx, db):
    server, emulator = mx
    for i in range(5):
        server.call(emulator.inject, {"text": f"сообщение {i}", "author_id": 20 + i})
    conn = connector(server, limit=2)
    first = await conn.fetch(None)
    assert len(first.messages) == 2 and first.has_more
    again = await conn.fetch(None)  # a crash before storing: the same page again
    assert [m.external_id for m in again.messages] == [m.external_id for m in first.messages]
    while (await poll_once(conn, db)).new or db.count_messages("max") < 5:
        pass
    assert db.count_messages("max") == 5
    await poll_once(conn, db)
    assert server.call(lambda: len(emulator.world.log.items)) == 0  # confirmed by the stored marker
    assert (await conn.fetch(db.get_cursor("max"))).messages == []
    await conn.aclose()


async def test_edits_deletions_attachments_and_duplicates(mx, db):
    server, emulator = mx
    emulator.faults.add({"kind": "duplicate", "match": "inject", "count": 1})
    created = server.call(emulator.inject, {"text": "Фото ямы", "photo": True, "file": True, "voice": True,
                                            "chat": "chat"})
    comment = server.call(emulator.inject, {"text": "Комментарий", "chat": "channel_comment"})
    server.call(emulator.inject, {"text": "", "bodyless": True})  # a voice message without a message
    conn = connector(server)
    await poll_once(conn, db)
    assert db.count_messages("max") == 2  # the duplicate recognised by its mid, the bodyless one skipped
    assert (await conn.fetch(db.get_cursor("max"))).messages == []
    server.call(emulator.inject, {"kind": "edit", "mid": created["mid"], "text": "Фото ямы на Ленина"})
    server.call(emulator.inject, {"kind": "delete", "mid": comment["mid"]})
    batch = await conn.fetch(db.get_cursor("max"))
    edit, deletion = batch.messages
    assert edit.event == EventKind.EDIT and edit.external_id == created["mid"] and edit.edited_at
    assert [a.type for a in edit.attachments] == ["photo", "file", "audio"]
    assert deletion.event == EventKind.DELETE and deletion.thread.ids["post_id"]
    result = await asyncio.to_thread(db.ingest, "max", batch, "max")
    assert result.updated == 1 and result.deleted == 1
    await conn.aclose()


async def test_reply_with_an_uploaded_attachment_waits_until_it_is_ready(mx, tmp_path):
    server, emulator = mx
    emulator.not_ready = 2
    server.call(emulator.inject, {"text": "Пришлите схему", "author_id": 30})
    conn = connector(server)
    [m] = (await conn.fetch(None)).messages
    scheme = tmp_path / "схема.pdf"
    scheme.write_bytes(b"%PDF-1.4 scheme")
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff photo")
    sent = await conn.send(reply_to(m, attachments=[Attachment(type="file", url=str(scheme)),
                                                    Attachment(type="photo", url=photo.as_uri())]))
    [posted] = emulator.replies
    assert posted["attachments"] == ["file", "image"] and sent.external_id == posted["mid"]
    assert emulator.not_ready_answers >= 1
    await conn.aclose()


async def test_transient_failures_are_retried_for_reads(mx):
    server, emulator = mx
    server.call(emulator.inject, {"text": "Вопрос"})
    conn = connector(server)
    for kind in ("5xx", "malformed"):
        server.call(emulator.faults.add, {"kind": kind, "match": "updates", "count": 1})
        assert len((await conn.fetch(None)).messages) == 1
    server.call(emulator.faults.add, {"kind": "5xx", "match": "updates", "count": 3})
    with pytest.raises(Transient):
        await conn.fetch(None)
    await conn.aclose()


async def test_errors_are_classified_by_code(mx):
    server, emulator = mx
    conn = connector(server)
    server.call(emulator.faults.add, {"kind": "429", "match": "updates", "count": 1})
    with pytest.raises(RateLimited):
        await conn.fetch(None)
    created = server.call(emulator.inject, {"text": "x", "author_id": 42})
    [m] = (await conn.fetch(None)).messages
    server.call(emulator.world.blocked_users.add, 42)
    with pytest.raises(Fatal) as exc:
        await conn.send(reply_to(m))
    assert exc.value.code == "chat.denied" and created["user_id"] == 42
    server.call(emulator.faults.add, {"kind": "5xx", "match": "messages", "count": 1})
    server.call(emulator.world.blocked_users.discard, 42)
    with pytest.raises(Transient):  # writes are never retried by the connector
        await conn.send(reply_to(m))
    assert emulator.replies == []
    server.call(emulator.world.not_admin.add, GROUP["chat_id"])
    problems = await connector(server, chat_ids=[GROUP["chat_id"], CHANNEL["chat_id"]]).check()
    assert problems == [f"chat {GROUP['chat_id']}: the bot is not an administrator, so MAX sends it nothing"]
    server.call(setattr, emulator, "revoked", True)
    with pytest.raises(AuthFailed) as exc:
        await conn.fetch(None)
    assert exc.value.code == "verify.token"
    [problem] = await conn.check()
    assert "rejected" in problem
    await conn.aclose()


def test_the_ca_bundle_option_reaches_httpx(tmp_path):
    cfg = SourceConfig(name="max", platform="max", secrets={"token": TOKEN},
                       options={"ca_bundle": str(tmp_path / "missing.pem")})
    with pytest.raises((OSError, FileNotFoundError)):  # httpx loads the bundle when the client is built
        MaxConnector(cfg)


async def test_sending_respects_the_per_chat_limit(mx):
    server, emulator = mx
    server.call(emulator.inject, {"text": "вопрос", "chat": "chat"})
    conn = connector(server)
    [m] = (await conn.fetch(None)).messages
    for i in range(5):  # 2 messages/s per chat: our limiter waits instead of provoking a 429
        await conn.send(reply_to(m, f"ответ {i}", rid=f"r{i}"))
    assert emulator.rate_limited == 0 and len(emulator.replies) == 5
    await conn.aclose()


async def test_webhook_end_to_end(mx, db):
    server, emulator = mx
    conn = connector(server, secrets={"webhook_secret": "s3cret-Hook"}, webhook=True)

    async def daemon_like(body, headers):
        try:
            conn.authenticate_webhook(headers, None)
            result = await conn.handle_webhook(body, headers)
        except WebhookRefused as exc:
            return exc.status, exc.reason
        except ConnectorError as exc:
            return 400, exc.kind
        db.ingest("max", Batch(messages=result.messages))  # stored before the 200, as the daemon does
        return 200, "ok"

    receiver = WebhookReceiver(daemon_like, path="/webhooks/max")
    with serving(receiver) as hook:
        await conn.subscribe(hook.url + receiver.path)
        server.call(emulator.inject, {"text": "Нет воды", "author_id": 15})
        server.call(emulator.inject, {"text": "И света", "chat": "chat"})
        for _ in range(100):
            if db.count_messages("max") == 2:
                break
            await asyncio.sleep(0.05)
        assert db.count_messages("max") == 2
        assert all(r["headers"]["X-Max-Bot-Api-Secret"] == "s3cret-Hook" for r in receiver.received)
        assert await connector(server, secrets={"webhook_secret": "s3cret-Hook"}, webhook=True,
                               webhook_url=hook.url + receiver.path).check() == []
        assert "long polling" in (await connector(server).check())[0]
        with pytest.raises(WebhookRefused):
            conn.authenticate_webhook({"X-Max-Bot-Api-Secret": "forged"}, None)
        with pytest.raises(WebhookRefused):
            conn.authenticate_webhook({}, None)


async def test_own_bot_messages_are_never_ingested():
    from connectors.max.mapping import map_update

    msg = {"recipient": {"chat_id": GROUP["chat_id"], "chat_type": "chat"}, "timestamp": 1_780_000_000_000,
           "sender": {**BOT, "is_bot": False}, "body": {"mid": "mid.1", "seq": 1, "text": "ответ"}}
    assert map_update({"update_type": "message_created", "timestamp": 1, "message": msg}, "s",
                      BOT["user_id"]) == []


def test_otklik_sources_check(tmp_path, monkeypatch, capsys):
    """`otklik sources check` builds the MAX connector from the settings and reports what is wrong."""
    from otklik.cli import main

    emulator = MaxEmulator(long_poll_cap=0.1)
    with serving(emulator) as server:
        config = tmp_path / "otklik.toml"
        config.write_text(f'[[sources]]\nname = "max_city"\nplatform = "max"\nbase_url = "{server.url}"\n'
                          f'[sources.options]\nchat_ids = [{GROUP["chat_id"]}]\n', encoding="utf-8")
        monkeypatch.setenv("OTKLIK_CONFIG", str(config))
        monkeypatch.setenv("OTKLIK_VAR_DIR", str(tmp_path))
        monkeypatch.setenv("OTKLIK_SECRET_MAX_CITY_TOKEN", TOKEN)
        assert main(["sources", "check"]) == 0
        assert "max_city (max): OK" in capsys.readouterr().out
        server.call(emulator.world.not_admin.add, GROUP["chat_id"])
        assert main(["sources", "check"]) == 1
        assert "not an administrator" in capsys.readouterr().out


async def test_comments_missed_while_offline_are_backfilled_through_the_rest_api(mx, db):
    """MAX.md §6, §11: comments arrive as comment_* updates, and GET /messages/{post}/comments reads
    them back. A comment whose update we never got (written while we were away longer than MAX keeps
    updates) is read on the next start; one already stored is not stored twice; our own reply never."""
    server, emulator = mx
    post = server.call(emulator.inject, {"chat": "channel_post", "text": "Пост администрации"})
    seen = server.call(emulator.inject, {"chat": "channel_comment", "post_id": post["mid"], "text": "Где автобус?",
                                         "author_id": 31})
    conn = connector(server, backfill_channels=[CHANNEL["chat_id"]])
    while (await poll_once(conn, db)).new:
        pass
    assert db.count_messages("max") == 1
    await conn.send(Reply(id="own", source="max", platform="max", text="Здравствуйте! Автобус будет.",
                          thread=_thread_of(db, seen["mid"]), in_reply_to=seen["mid"]))
    await conn.aclose()
    missed = [server.call(emulator.inject, {"chat": "channel_comment", "post_id": post["mid"], "missed": True,
                                            "text": f"Пропущенный комментарий {i}", "author_id": 40 + i})
              for i in range(3)]
    assert server.call(lambda: len(emulator.world.log.items)) == 0  # no update will ever tell of them
    probe = connector(server, backfill_channels=[CHANNEL["chat_id"]])  # what a restart's first fetch brings
    got = {m.external_id: m for m in (await probe.fetch(db.get_cursor("max"))).messages}
    await probe.aclose()
    assert set(got) == {seen["mid"], *(m["mid"] for m in missed)}  # our reply is not among them
    assert all(m.thread.kind == "comment" and m.thread.ids["post_id"] == post["mid"] for m in got.values())
    restarted = connector(server, backfill_channels=[CHANNEL["chat_id"]])
    while (await poll_once(restarted, db)).new:
        pass
    assert db.count_messages("max") == 4  # the known comment once, the three missed ones added
    assert (await restarted.fetch(db.get_cursor("max"))).messages == []  # once per start
    await restarted.aclose()


def _thread_of(db, external_id):
    from sqlalchemy import select

    from otklik.models import Thread
    from storage.tables import MessageRow

    with db.session() as s:
        thread = s.execute(select(MessageRow.thread).where(MessageRow.external_id == external_id)).scalar_one()
    return Thread.model_validate(thread)
