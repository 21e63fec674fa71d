"""An answer with two photos on each platform, end to end against its emulator: a citizen writes
(injected), the connector reads the message, and our answer with two stored photos is posted the
platform's way. The emulator keeps what arrived: the uploaded bytes (Telegram, VK, MAX, OK, ПОС:
compared by SHA-256) or the links the platform fetches (the other regional platforms: signed links to
our stored files, which the daemon serves)."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import httpx
import pytest
from aiohttp.test_utils import TestClient, TestServer

from connectors.base import SourceConfig
from connectors.registry import connector_class
from otklik import http
from otklik.attachments import links
from otklik.attachments.store import default_store
from otklik.models import Attachment, Reply
from otklik.settings import get_settings
from sandbox.registry import emulator_class
from sandbox.runner import serving
from tests.otklik.doubles import AppDaemon
from tests.otklik.files import jpeg, png

TEXT = "Здравствуйте! Яму у дома 5 засыпали, фотографии до и после работ прилагаем."
PUBLIC = "https://otklik.adm.example"
INJECT = {
    "telegram": {"text": "Яма у дома 5 на Лесной", "author_id": 777},
    "vk": {"text": "Яма у дома 5 на Лесной", "author_id": 777, "where": "comment"},
    "vk_message": {"text": "Яма у дома 5 на Лесной", "author_id": 778, "where": "message"},
    "max": {"text": "Яма у дома 5 на Лесной", "author_id": 31},
    "ok": {"text": "Яма у дома 5 на Лесной", "author_id": 571000000777},
    "ok_chat": {"text": "Яма у дома 5 на Лесной", "author_id": 571000000778, "target": "chat"},
    "kamchatka": {"text": "Яма у дома 5 на Лесной"},
    "pos": {"text": "Яма у дома 5 на Лесной"},
    "kuzbass_online": {"text": "Яма у дома 5 на Лесной"},
    "incident_management": {"text": "Яма у дома 5 на Лесной"},
}


@pytest.fixture
def stored(tmp_path, monkeypatch):
    monkeypatch.setenv("OTKLIK_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("OTKLIK_PUBLIC_URL", PUBLIC)
    (tmp_path / "otklik.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("OTKLIK_CONFIG", str(tmp_path / "otklik.toml"))
    get_settings.cache_clear()
    store = default_store()
    files = [(jpeg(gps=False, color=(200, 10, 10)), "до.jpg", "image/jpeg"), (png(), "после.png", "image/png")]
    keys = [store.put(data) for data, _, _ in files]
    yield [Attachment(type="photo", id=f"sha256:{k}", name=name, mime=mime, size=len(data))
           for k, (data, name, mime) in zip(keys, files, strict=True)], keys
    get_settings.cache_clear()


async def _message(conn, text: str, cursor: str | None):
    for _ in range(5):
        batch = await conn.fetch(cursor)
        for m in batch.messages:
            if text in m.text:
                return m
        cursor = batch.next_cursor or cursor
    raise AssertionError("the injected message was not read back")


def _keys_of_links(urls: list[str]) -> list[str]:
    """The store keys behind signed links, each checked like the daemon does."""
    secret = links.installation_secret()
    keys = []
    for url in urls:
        assert url.startswith(f"{PUBLIC}/files/")
        key, expires, sig, _name = urlsplit(url).path.split("/")[2:]
        assert links.valid(secret, key, expires, sig)
        keys.append(key)
    return keys


def arrived(platform: str, record: dict) -> list[str]:
    if platform in ("telegram", "vk", "vk_message", "ok", "ok_chat", "pos"):
        return [a["sha256"] for a in record["attachments"]]
    if platform == "max":
        return record["files"]
    if platform == "kamchatka":
        return _keys_of_links(record["photos"])
    if platform in ("kuzbass_online", "incident_management"):
        return _keys_of_links([a["url"] for a in record["attachments"]])
    raise AssertionError(platform)


@pytest.mark.parametrize("platform", ["telegram", "vk", "vk_message", "max", "ok", "ok_chat", "kamchatka",
                                      "kuzbass_online", "incident_management", "pos"])
async def test_an_answer_with_two_photos_arrives_on_each_platform(platform, stored):
    attachments, keys = stored
    real = platform.split("_")[0] if platform in ("vk_message", "ok_chat") else platform
    emulator = emulator_class(real)()
    with serving(emulator) as server:
        config = SourceConfig(name="src", platform=real, base_url=server.url, secrets=emulator.demo_secrets(),
                              options=emulator.demo_options())
        async with httpx.AsyncClient(timeout=30) as client:
            conn = connector_class(real)(config, client=client)
            cursor = (await conn.fetch(None)).next_cursor  # where the stream is now (VK starts there)
            server.call(emulator.inject, INJECT[platform])
            msg = await _message(conn, "Яма у дома 5", cursor)
            reply = Reply(id=f"r-{platform}", source="src", platform=real, thread=msg.thread,
                          in_reply_to=msg.external_id, text=TEXT, attachments=attachments,
                          outcome="solved" if platform == "kuzbass_online" else None)
            delivery = await conn.send(reply)
        assert delivery.external_id
        record = emulator.replies[-1]
        assert arrived(platform, record) == keys
        if platform == "telegram":  # one album, the answer as its caption: still one post
            assert len(emulator.replies) == 1 and record["text"] == TEXT
            assert {emulator.files[k] for k in keys} == {default_store().get(k) for k in keys}
        if platform == "pos":  # uploaded to the file storage, named in the answer's attachmentIds
            answer = emulator.world.get(int(record["appeal_id"]))["answers"][-1]
            assert [emulator.files[i]["data"] for i in answer["attachmentIds"]] == [
                default_store().get(k) for k in keys]
        if real == "ok":  # one post with both photos; the bytes OK's upload server took are ours
            assert len(emulator.replies) == 1 and record["text"] == TEXT
            assert [emulator.uploads.files[k] for k in keys] == [default_store().get(k) for k in keys]
            assert len(_ok_shown(emulator, record)) == 2  # the emulator shows them on the post


def _ok_shown(emulator, record: dict) -> list[dict]:
    """The photos OK shows on our comment (discussions.getComments) or chat message (history)."""
    if "comment_id" in record:
        return emulator.find_comment(record["comment_id"])[1].wire()["attachments"]
    chat = emulator.chats[record["chat_id"]]
    return next(m for m in chat.messages if m.mid == record["message_id"]).wire()["message"]["attachments"]


async def test_the_daemon_serves_a_signed_link_and_nothing_else(db, stored):
    attachments, keys = stored
    url = links.link_for(keys[0], "до.jpg")
    path = urlsplit(url).path
    async with TestClient(TestServer(http.build_app(AppDaemon(db)))) as c:
        r = await c.get(path)
        assert r.status == 200 and await r.read() == default_store().get(keys[0])
        assert r.headers["Content-Type"] == "image/jpeg"
        key, expires, sig, name = path.split("/")[2:]
        assert unquote(name) == "до.jpg"
        assert (await c.get(f"/files/{keys[1]}/{expires}/{sig}/x.png")).status == 404  # another file
        assert (await c.get(f"/files/{key}/{int(expires) + 1}/{sig}/x.jpg")).status == 404  # a longer life
        stale = links.signed_url(PUBLIC, links.installation_secret(), key, "a.jpg", now=0, ttl=1)
        assert (await c.get(urlsplit(stale).path)).status == 404  # expired


async def test_an_answer_with_two_photos_arrives_by_email_as_mime_attachments(stored, smtp_server):
    from otklik.models import Platform, Thread

    attachments, keys = stored
    inbox, port = smtp_server
    config = SourceConfig(name="mail", platform=Platform.EMAIL,
                          options={"host": "127.0.0.1", "port": port, "sender": "otvet@adm.example", "timeout": 5})
    conn = connector_class("email")(config)
    reply = Reply(id="r-mail", source="mail", platform=Platform.EMAIL,
                  thread=Thread(kind="email", ids={"address": "zhitel@example.org"}), text=TEXT,
                  attachments=attachments)
    await conn.send(reply)
    await conn.aclose()
    parts = list(inbox.messages[-1].iter_attachments())
    assert [p.get_filename() for p in parts] == ["до.jpg", "после.png"]
    assert [p.get_content_type() for p in parts] == ["image/jpeg", "image/png"]
    assert [p.get_content() for p in parts] == [default_store().get(k) for k in keys]


async def test_a_vk_answer_retried_after_a_crash_uploads_again_but_posts_once(stored):
    """The worker died after VK took the comment but before the delivery was recorded: the retry
    uploads the photos again (an unused copy in the album at worst) and the comment's guid makes VK
    answer with the first comment instead of posting a second one."""
    attachments, keys = stored
    emulator = emulator_class("vk")()
    with serving(emulator) as server:
        config = SourceConfig(name="src", platform="vk", base_url=server.url, secrets=emulator.demo_secrets(),
                              options=emulator.demo_options())
        async with httpx.AsyncClient(timeout=30) as client:
            conn = connector_class("vk")(config, client=client)
            cursor = (await conn.fetch(None)).next_cursor
            server.call(emulator.inject, INJECT["vk"])
            msg = await _message(conn, "Яма у дома 5", cursor)
            reply = Reply(id="r-vk-retry", source="src", platform="vk", thread=msg.thread,
                          in_reply_to=msg.external_id, text=TEXT, attachments=attachments)
            first = await conn.send(reply)
            again = await conn.send(reply)
    assert first.external_id == again.external_id
    comments = [r for r in emulator.replies if r["method"] == "wall.createComment"]
    assert len(comments) == 1 and arrived("vk", comments[0]) == keys
    assert len(emulator.uploads.saved) == 4  # two uploads per attempt


@pytest.mark.parametrize("platform", ["ok", "ok_chat"])
async def test_an_ok_answer_resumed_after_a_crash_is_found_and_not_posted_again(platform, stored):
    """The worker died after OK took the comment (or chat message) with its photos but before the
    delivery was recorded: the resumed job reads the thread back (OK has no idempotency key), finds
    our post and does not upload or post again."""
    from workers.jobs import _deliver

    attachments, keys = stored
    emulator = emulator_class("ok")()
    with serving(emulator) as server:
        config = SourceConfig(name="src", platform="ok", base_url=server.url, secrets=emulator.demo_secrets(),
                              options=emulator.demo_options())
        async with httpx.AsyncClient(timeout=30) as client:
            conn = connector_class("ok")(config, client=client)
            cursor = (await conn.fetch(None)).next_cursor
            server.call(emulator.inject, INJECT[platform])
            msg = await _message(conn, "Яма у дома 5", cursor)
            reply = Reply(id=f"r-{platform}-retry", source="src", platform="ok", thread=msg.thread,
                          in_reply_to=msg.external_id, text=TEXT, attachments=attachments)
            first = await conn.send(reply)
            uploads = emulator.uploads.uploads
            again = await _deliver(connector_class("ok")(config, client=client), reply, resumed=True)
    assert again.already_posted and again.external_id == first.external_id
    assert len(emulator.replies) == 1 and arrived(platform, emulator.replies[0]) == keys
    assert emulator.uploads.uploads == uploads  # found before anything was uploaded again
