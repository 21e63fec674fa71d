"""OK's photo upload on the wire, replayed with respx: the signed `photosV2.getUploadUrl`, the
multipart upload (`pic1`, `pic2`, not signed again: the URL carries OK's own signature), the tokens
named in the comment's `attachments`; the Bot API's `fileUploadUrl?type=IMAGE` and the tokens in the
chat message. Failures are classified as elsewhere: an upload is retried, a post is not, and an
answer with a file OK cannot take posts nothing. The answers are the shapes apiok.ru documents and
the emulator serves (tests/connectors/test_answer_photos.py runs the same flows against it)."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest
import respx
from httpx import Response

from connectors.base import SourceConfig
from connectors.errors import Fatal
from connectors.ok.client import sign
from connectors.ok.connector import OkConnector
from connectors.ok.uploads import comment_param, tokens_of
from otklik.attachments.store import default_store
from otklik.models import Attachment, Reply, Thread
from tests.connectors.test_upload_calls import parts
from tests.otklik.files import stored_photos

OK = "https://api.ok.test"
UPLOAD = "https://pu.ok.test/uploadImage?apiToken=sig1&photoIds=p1,p2"
TEXT = "Здравствуйте! Яму засыпали, фотографии прилагаем."
SECRETS = {"access_token": "tok", "application_secret_key": "secret", "bot_token": "bot"}


@pytest.fixture
def photos(tmp_path, monkeypatch):
    with stored_photos(tmp_path, monkeypatch) as got:
        yield got


def ok(**options) -> OkConnector:
    return OkConnector(SourceConfig(name="ok", platform="ok", base_url=OK, secrets=SECRETS,
                                    options={"application_key": "APP", "group_id": "777", "retry_wait": 0.001,
                                             **options}))


def comment_reply(attachments) -> Reply:
    return Reply(id="r-ok", source="ok", platform="ok", text=TEXT, attachments=attachments,
                 thread=Thread(kind="discussion", ids={"discussion_id": "155", "discussion_type": "GROUP_TOPIC",
                                                       "comment_id": "c9"}))


def form(request) -> dict[str, str]:
    return dict(parse_qsl(request.read().decode()))


def rest(method: str, router=respx):
    return router.post(f"{OK}/fb.do", data__contains={"method": method})


@respx.mock
async def test_a_comment_uploads_the_photos_once_and_names_their_tokens(photos):
    attachments, data = photos
    slot = rest("photosV2.getUploadUrl").mock(return_value=Response(200, json={
        "photo_ids": ["p1", "p2"], "upload_url": UPLOAD, "expires_ms": 1, "ttl_ms": 1}))
    answers = iter([Response(503), Response(200, json={"photos": {"p2": {"token": "T2"}, "p1": {"token": "T1"}}})])
    upload = respx.post(UPLOAD).mock(side_effect=lambda request: next(answers))
    comment = rest("discussions.addDiscussionComment").mock(return_value=Response(200, json="c10"))
    delivery = await ok(album_id="a5").send(comment_reply(attachments))
    assert delivery.external_id == "c10"
    asked = form(slot.calls[0].request)
    assert asked["gid"] == "777" and asked["aid"] == "a5" and asked["count"] == "2"
    assert asked["sizes"] == f"{len(data[0])},{len(data[1])}"
    assert asked["sig"] == sign(asked, "tok", "secret")  # signed like every /fb.do call
    assert upload.call_count == 2  # the upload server's 503 was retried: uploading posts nothing
    sent = parts(upload.calls[1].request)
    assert [sent["pic1"], sent["pic2"]] == [("a.jpg", data[0]), ("b.png", data[1])]
    assert "sig" not in upload.calls[1].request.url.params and "access_token" not in sent
    posted = form(comment.calls[0].request)
    assert json.loads(posted["attachments"]) == [{"type": "photo", "list": [{"id": "T1"}, {"id": "T2"}]}]
    assert posted["sig"] == sign(posted, "tok", "secret")  # the attachments are part of the signature
    assert posted["comment"] == TEXT and posted["reply_to_comment_id"] == "c9" and posted["as_admin"] == "true"


async def test_a_failed_upload_posts_no_comment(photos):
    attachments, _ = photos
    with respx.mock(assert_all_called=False) as router:
        slot = rest("photosV2.getUploadUrl", router).mock(
            return_value=Response(200, json={"photo_ids": ["p1", "p2"], "upload_url": UPLOAD}))
        upload = router.post(UPLOAD).mock(
            return_value=Response(200, json={"error_code": 100, "error_msg": "PARAM : bad file"}))
        comment = rest("discussions.addDiscussionComment", router).mock(return_value=Response(200, json="c10"))
        with pytest.raises(Fatal):
            await ok().send(comment_reply(attachments))
    assert slot.call_count == 1 and upload.call_count == 1 and comment.call_count == 0


async def test_a_video_is_refused_before_anything_is_uploaded(photos):
    attachments, _ = photos
    key = default_store().put(b"\x00\x00\x00\x18ftypmp42" + bytes(64))
    video = Attachment(type="video", id=f"sha256:{key}", name="v.mp4", mime="video/mp4")
    with respx.mock(assert_all_called=False) as router:
        anything = router.route(url__startswith=OK).mock(return_value=Response(500))
        with pytest.raises(Fatal, match="photos only"):
            await ok().send(comment_reply([attachments[0], video]))
    assert anything.call_count == 0


@respx.mock
async def test_a_chat_message_carries_one_image_token_per_photo(photos):
    attachments, data = photos
    urls = iter([f"{OK}/up/1", f"{OK}/up/2"])
    slot = respx.get(f"{OK}/graph/me/fileUploadUrl").mock(
        side_effect=lambda request: Response(200, json={"url": next(urls), "file_id": "f"}))
    up1 = respx.post(f"{OK}/up/1").mock(return_value=Response(200, json={"photos": {"x": {"token": "I1"}}}))
    up2 = respx.post(f"{OK}/up/2").mock(return_value=Response(200, json={"photos": {"y": {"token": "I2"}}}))
    send = respx.post(f"{OK}/graph/me/messages/chat:C1").mock(
        return_value=Response(200, json={"success": True, "message_id": "mid:1"}))
    reply = Reply(id="r-chat", source="ok", platform="ok", text=TEXT, attachments=attachments,
                  thread=Thread(kind="chat", ids={"chat_id": "chat:C1"}))
    delivery = await ok().send(reply)
    assert delivery.external_id == "mid:1"
    assert all(c.request.url.params["type"] == "IMAGE" and c.request.url.params["access_token"] == "bot"
               for c in slot.calls)
    assert [parts(up1.calls[0].request)["pic1"], parts(up2.calls[0].request)["pic1"]] == [
        ("a.jpg", data[0]), ("b.png", data[1])]
    body = json.loads(send.calls[0].request.read())
    assert body["message"] == {"text": TEXT, "attachments": [{"type": "IMAGE", "payload": {"token": "I1"}},
                                                             {"type": "IMAGE", "payload": {"token": "I2"}}]}


def test_tokens_follow_the_reserved_ids_and_an_empty_answer_is_refused():
    answer = {"photos": {"b": {"token": "TB"}, "a": {"token": "TA"}}}
    assert tokens_of(answer, ["a", "b"]) == ["TA", "TB"]
    assert comment_param(["TA"]) == '[{"type":"photo","list":[{"id":"TA"}]}]'
    with pytest.raises(Fatal):
        tokens_of({"photos": {}}, None)
    with pytest.raises(Fatal):  # Malformed: an id OK reserved has no token in the answer
        tokens_of(answer, ["a", "c"])


async def test_a_chat_answer_carries_a_document_a_comment_refuses_it(photos):
    """Against the emulator: a chat message takes a photo and a PDF (FILE: the token comes with the
    upload URL); a comment takes photos only, and says so before uploading anything."""
    import httpx

    from sandbox.ok.emulator import OkEmulator
    from sandbox.runner import serving

    attachments, data = photos
    pdf = b"%PDF-1.4\n% otklik\n" + bytes(200)
    doc = Attachment(type="doc", id=f"sha256:{default_store().put(pdf)}", name="акт.pdf", mime="application/pdf")
    emulator = OkEmulator(rps_limit=1000)
    with serving(emulator) as server:
        config = SourceConfig(name="ok", platform="ok", base_url=server.url, secrets=emulator.demo_secrets(),
                              options=emulator.demo_options())
        async with httpx.AsyncClient(timeout=30) as client:
            conn = OkConnector(config, client=client)
            chat = emulator.group_chat.chat_id
            await conn.send(Reply(id="r-doc", source="ok", platform="ok", text=TEXT,
                                  attachments=[attachments[0], doc], thread=Thread(kind="chat", ids={"chat_id": chat})))
            topic = max(emulator.topics.values(), key=lambda t: t.created_ms)
            with pytest.raises(Fatal, match="photos only"):
                await conn.send(Reply(id="r-doc2", source="ok", platform="ok", text=TEXT, attachments=[doc],
                                      thread=Thread(kind="discussion", ids={"discussion_id": topic.id})))
    record = emulator.replies[-1]
    assert len(emulator.replies) == 1 and [a["type"] for a in record["attachments"]] == ["PHOTO", "FILE"]
    assert [emulator.uploads.files[a["sha256"]] for a in record["attachments"]] == [data[0], pdf]
    assert emulator.uploads.uploads == 2  # the refused comment uploaded nothing
