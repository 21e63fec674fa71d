"""The upload calls on the wire, replayed with respx: what Telegram's album and VK's upload flow send
(multipart parts, the order of the calls, the tokens used), and how their failures are classified
(an upload is retried, a post is not). The answers are the shapes the platforms document and the
emulators serve (tests/connectors/test_answer_photos.py runs the same flows against them)."""

from __future__ import annotations

import json
from email.parser import BytesParser
from email.policy import HTTP

import pytest
import respx
from httpx import Response

from connectors.base import SourceConfig
from connectors.errors import Fatal
from connectors.telegram.connector import TelegramConnector
from connectors.vk.connector import VkConnector
from otklik.models import Reply, Thread
from tests.otklik.files import stored_photos

TG = "https://api.telegram.test"
VK = "https://api.vk.test"
UPLOAD = "https://pu.vk.test/c1/upload.php"
TEXT = "Здравствуйте! Яму засыпали, фотографии прилагаем."


@pytest.fixture
def photos(tmp_path, monkeypatch):
    with stored_photos(tmp_path, monkeypatch) as got:
        yield got


def parts(request) -> dict[str, tuple[str | None, bytes]]:
    """The multipart form of a request: name -> (file name, bytes)."""
    raw = b"Content-Type: " + request.headers["content-type"].encode() + b"\r\n\r\n" + request.read()
    msg = BytesParser(policy=HTTP).parsebytes(raw)
    return {p.get_param("name", header="content-disposition"): (p.get_filename(), p.get_payload(decode=True))
            for p in msg.iter_parts()}


def tg(**options) -> TelegramConnector:
    return TelegramConnector(SourceConfig(name="tg", platform="telegram", base_url=TG,
                                          secrets={"token": "123:abc"}, options=options))


def tg_reply(attachments, text=TEXT) -> Reply:
    return Reply(id="r1", source="tg", platform="telegram", text=text, attachments=attachments,
                 thread=Thread(kind="chat", ids={"chat_id": 5001, "message_id": 17}))


def sent(message_id: int, media_group: str | None = None) -> dict:
    msg = {"message_id": message_id, "date": 1, "chat": {"id": 5001, "type": "private"},
           "photo": [{"file_id": f"AgAC{message_id}", "file_unique_id": "u", "width": 1, "height": 1}]}
    return {**msg, **({"media_group_id": media_group} if media_group else {})}


@respx.mock
async def test_telegram_posts_two_photos_as_one_album_with_the_answer_as_caption(photos):
    attachments, data = photos
    route = respx.post(f"{TG}/bot123:abc/sendMediaGroup").mock(
        return_value=Response(200, json={"ok": True, "result": [sent(40, "g1"), sent(41, "g1")]}))
    delivery = await tg().send(tg_reply(attachments))
    assert route.call_count == 1 and delivery.external_id == "5001:40"
    form = parts(route.calls[0].request)
    media = json.loads(form["media"][1])
    assert [m["media"] for m in media] == ["attach://file0", "attach://file1"]
    assert media[0]["caption"] == TEXT and "caption" not in media[1]
    assert json.loads(form["reply_parameters"][1])["message_id"] == 17
    assert [form["file0"], form["file1"]] == [("a.jpg", data[0]), ("b.png", data[1])]


@respx.mock
async def test_telegram_posts_one_photo_with_send_photo(photos):
    attachments, data = photos
    route = respx.post(f"{TG}/bot123:abc/sendPhoto").mock(return_value=Response(200, json={"ok": True,
                                                                                           "result": sent(42)}))
    await tg().send(tg_reply(attachments[:1]))
    form = parts(route.calls[0].request)
    assert form["photo"][1] == b"attach://file0" and form["caption"][1].decode() == TEXT
    assert form["file0"] == ("a.jpg", data[0])


@respx.mock(assert_all_called=False)
async def test_telegram_refuses_a_caption_too_long_before_sending_anything(photos):
    attachments, _ = photos
    route = respx.post(url__regex=f"{TG}/.*").mock(return_value=Response(500))
    with pytest.raises(Fatal, match="1024"):
        await tg().send(tg_reply(attachments, text="Ответ. " * 200))
    assert route.call_count == 0


def vk() -> VkConnector:
    return VkConnector(SourceConfig(name="vk", platform="vk", base_url=VK,
                                    secrets={"token": "community", "user_token": "admin-user"},
                                    options={"group_id": 1, "read_backoff": 0.001}))


def vk_reply(attachments) -> Reply:
    return Reply(id="r-vk", source="vk", platform="vk", text=TEXT, attachments=attachments,
                 thread=Thread(kind="wall", ids={"owner_id": -1, "post_id": 7, "comment_id": 9}))


def form_of(request) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(request.read().decode()))


@respx.mock
async def test_vk_uploads_with_the_admins_token_saves_and_names_the_photos_in_the_comment(photos):
    attachments, data = photos
    server = respx.post(f"{VK}/method/photos.getWallUploadServer").mock(
        return_value=Response(200, json={"response": {"upload_url": UPLOAD, "album_id": -14, "user_id": 0}}))
    answers = iter([Response(503), Response(200, json={"server": 1, "photo": '[{"photo":"t1"}]', "hash": "h1"}),
                    Response(200, json={"server": 1, "photo": '[{"photo":"t2"}]', "hash": "h2"})])
    upload = respx.post(UPLOAD).mock(side_effect=lambda request: next(answers))
    saved = iter([1001, 1002])
    save = respx.post(f"{VK}/method/photos.saveWallPhoto").mock(
        side_effect=lambda request: Response(200, json={"response": [{"id": next(saved), "owner_id": -1}]}))
    comment = respx.post(f"{VK}/method/wall.createComment").mock(
        return_value=Response(200, json={"response": {"comment_id": 55, "parents_stack": [9]}}))
    delivery = await vk().send(vk_reply(attachments))
    assert delivery.external_id.endswith("55")
    assert all(form_of(c.request)["access_token"] == "admin-user" for c in [*server.calls, *save.calls])
    assert upload.call_count == 3  # the upload server's 503 was retried: uploading posts nothing
    assert [parts(c.request)["photo"] for c in upload.calls[1:]] == [("a.jpg", data[0]), ("b.png", data[1])]
    assert [form_of(c.request)["hash"] for c in save.calls] == ["h1", "h2"]
    posted = form_of(comment.calls[0].request)
    assert posted["attachments"] == "photo-1_1001,photo-1_1002" and posted["access_token"] == "community"
    assert posted["guid"] and posted["message"] == TEXT


@respx.mock(assert_all_called=False)
async def test_vk_without_an_admin_token_says_what_is_missing_and_posts_nothing(photos):
    attachments, _ = photos
    conn = VkConnector(SourceConfig(name="vk", platform="vk", base_url=VK, secrets={"token": "community"},
                                    options={"group_id": 1}))
    comment = respx.post(f"{VK}/method/wall.createComment").mock(return_value=Response(500))
    with pytest.raises(Exception, match="user_token"):
        await conn.send(vk_reply(attachments))
    assert comment.call_count == 0
