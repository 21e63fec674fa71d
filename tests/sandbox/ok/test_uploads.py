"""The OK emulator's photo uploads: `photosV2.getUploadUrl` reserves ids for the group, the upload
server answers a token per photo, a comment or chat message names the tokens and shows the photos;
a token that is unknown or already used, a wrong group and too many photos are refused with OK's
error envelope, never a 5xx."""

import json

import httpx
import pytest

from sandbox.ok.emulator import OkEmulator
from sandbox.ok.world import GROUP_ID
from sandbox.runner import serving
from tests.otklik.files import jpeg, png
from tests.sandbox.ok.test_emulator import graph, rest


@pytest.fixture
def ok():
    emulator = OkEmulator(rps_limit=1000)
    with serving(emulator) as server:
        yield server, emulator


def upload(url: str, *photos: bytes) -> dict:
    files = {f"pic{i}": (f"p{i}.jpg", data, "image/jpeg") for i, data in enumerate(photos, 1)}
    r = httpx.post(url, files=files)
    assert r.status_code == 200
    return r.json()


def comment(server, emulator, attachments: str) -> dict:
    topic = max(emulator.topics.values(), key=lambda t: t.created_ms)
    return rest(server, "discussions.addDiscussionComment", entityId=topic.id, entityType="GROUP_TOPIC",
                comment="Фото работ", as_admin="true", attachments=attachments)


def test_a_comment_shows_the_uploaded_photos_in_order(ok):
    server, emulator = ok
    slot = rest(server, "photosV2.getUploadUrl", gid=GROUP_ID, count=2)
    assert len(slot["photo_ids"]) == 2 and slot["upload_url"].startswith(server.url)
    photos = upload(slot["upload_url"], jpeg(), png())["photos"]
    tokens = [photos[pid]["token"] for pid in slot["photo_ids"]]
    new_id = comment(server, emulator, json.dumps([{"type": "photo", "list": [{"id": t} for t in tokens]}]))
    assert isinstance(new_id, str)
    shown = emulator.find_comment(new_id)[1].wire()["attachments"]
    assert [a["type"] for a in shown] == ["PHOTO", "PHOTO"] and all(a["url"] for a in shown)
    assert [a["size"] for a in emulator.replies[-1]["attachments"]] == [len(jpeg()), len(png())]
    again = comment(server, emulator, json.dumps([{"type": "photo", "list": [{"id": tokens[0]}]}]))
    assert again["error_code"] == 100  # a token names one photo once


def test_bad_uploads_and_attachments_are_refused_with_ok_errors(ok):
    server, emulator = ok
    assert rest(server, "photosV2.getUploadUrl", gid="1", count=1)["error_code"] == 100
    assert rest(server, "photosV2.getUploadUrl", gid=GROUP_ID, count=11)["error_code"] == 100
    assert httpx.post(f"{server.url}/_ok_upload/nope", files={"pic1": ("a.jpg", jpeg())}).json()["error_code"] == 300
    slot = rest(server, "photosV2.getUploadUrl", gid=GROUP_ID, count=1)
    assert httpx.post(slot["upload_url"], data={"x": "1"}).json()["error_code"] == 100  # no file
    for bad in ("not json", json.dumps([{"type": "photo", "list": [{"id": "unknown"}]}]), "[]"):
        assert comment(server, emulator, bad)["error_code"] == 100
    r = graph(server, "POST", f"messages/{emulator.group_chat.chat_id}",
              body={"recipient": {"chat_id": emulator.group_chat.chat_id},
                    "message": {"text": "Фото", "attachments": [{"type": "IMAGE", "payload": {"token": "nope"}}]}})
    assert r.status_code == 200 and r.json()["error_code"] == 100
    assert graph(server, "GET", "fileUploadUrl", type="VIDEO").json()["error_code"] == 100


def test_every_upload_answer_is_understood_as_carrying_no_message(ok):
    from connectors.ok.connector import OkConnector

    server, _ = ok
    slot = rest(server, "photosV2.getUploadUrl", gid=GROUP_ID, count=1)
    image = graph(server, "GET", "fileUploadUrl", type="IMAGE").json()
    file = graph(server, "GET", "fileUploadUrl", type="FILE").json()
    answers = [slot, image, file, upload(slot["upload_url"], jpeg()), upload(image["url"], png())]
    assert [OkConnector.parse(a) for a in answers] == [[]] * 5


def test_a_chat_message_carries_an_uploaded_image(ok):
    server, emulator = ok
    slot = graph(server, "GET", "fileUploadUrl", type="IMAGE").json()
    token = next(iter(upload(slot["url"], jpeg())["photos"].values()))["token"]
    chat = emulator.group_chat.chat_id
    r = graph(server, "POST", f"messages/{chat}", body={"recipient": {"chat_id": chat}, "message": {
        "text": "Фото", "attachments": [{"type": "IMAGE", "payload": {"token": token}}]}})
    assert r.json()["success"] is True
    history = graph(server, "GET", f"messages/{chat}").json()["messages"]
    assert history[0]["message"]["attachments"][0]["type"] == "IMAGE"
