"""ПОС answers with files: each file goes to the file storage (`POST /file-storage-service/filestorage`,
multipart `file`, with the OAuth token) and the answer names the returned ids in `attachmentIds`, as
public client code does. On the wire (respx) and against the mock: an upload failing transiently is
retried, a missing file fails before anything is stored, and an answer resumed after a crash is
found by its outgoingNumber and neither uploaded nor posted again."""

from __future__ import annotations

import json

import httpx
import pytest
import respx
from httpx import Response

from connectors.base import SourceConfig
from connectors.errors import Fatal
from connectors.pos.connector import PosConnector
from otklik.models import Attachment, Platform, Reply, Thread
from sandbox.pos.emulator import PosEmulator
from sandbox.runner import serving
from tests.connectors.test_upload_calls import parts
from tests.otklik.files import stored_photos

POS = "https://pos.test"
TEXT = "Здравствуйте! Опору освещения заменили, фотографии прилагаем."


@pytest.fixture
def files(tmp_path, monkeypatch):
    with stored_photos(tmp_path, monkeypatch, ("до.jpg", "после.png")) as got:
        yield got


def reply(attachments, appeal: int = 41, rid: str = "reply-files-1") -> Reply:
    return Reply(id=rid, source="pos", platform=Platform.POS, thread=Thread(kind="appeal", ids={"appeal_id": appeal}),
                 text=TEXT, attachments=attachments)


def pos(base: str, secrets: dict | None = None) -> PosConnector:
    return PosConnector(SourceConfig(name="pos", platform="pos", base_url=base,
                                     secrets=secrets or {"username": "u", "password": "p", "client_id": "c",
                                                         "client_secret": "s"},
                                     options={"read_attempts": 3, "retry_wait": 0.001}))


@respx.mock
async def test_files_are_stored_first_and_named_in_attachment_ids(files):
    attachments, data = files
    respx.post(f"{POS}/user-service/oauth/token").mock(
        return_value=Response(200, json={"access_token": "AT", "expires_in": 3600}))
    answers = iter([Response(503, json={"status": 503, "messages": []}),
                    Response(200, json={"id": "f-1", "name": "до.jpg", "size": len(data[0]), "temporary": True}),
                    Response(200, json={"id": "f-2", "name": "после.png", "size": len(data[1]), "temporary": True})])
    upload = respx.post(f"{POS}/file-storage-service/filestorage").mock(side_effect=lambda request: next(answers))
    answer = respx.post(f"{POS}/appeal-service/edms/41").mock(return_value=Response(200, json={
        "id": 41, "answers": [{"id": 7, "outgoingNumber": "reply-files-1", "createdAt": "2026-12-07T10:00:00Z"}]}))
    delivery = await pos(POS).send(reply(attachments))
    assert delivery.external_id == "41:7"
    assert upload.call_count == 3  # the 503 was retried: storing a file posts nothing
    assert all(c.request.headers["Authorization"] == "Bearer AT" for c in upload.calls)
    assert [parts(c.request)["file"] for c in upload.calls[1:]] == [("до.jpg", data[0]), ("после.png", data[1])]
    body = json.loads(answer.calls[0].request.read())
    assert body["attachmentIds"] == ["f-1", "f-2"] and body["answerText"] == TEXT
    assert body["outgoingNumber"] == "reply-files-1"


async def test_a_missing_file_fails_before_anything_is_stored(files):
    attachments, _ = files
    lost = Attachment(type="photo", id=f"sha256:{'b' * 64}", name="lost.jpg", mime="image/jpeg")
    with respx.mock(assert_all_called=False) as router:
        anything = router.route(url__startswith=POS).mock(return_value=Response(500))
        with pytest.raises(Fatal, match="missing from the attachment store"):
            await pos(POS).send(reply([attachments[0], lost]))
    assert anything.call_count == 0


async def test_the_mock_keeps_the_files_and_a_resumed_answer_is_found_not_repeated(files):
    from workers.jobs import _deliver

    attachments, data = files
    emulator = PosEmulator()
    with serving(emulator) as server:
        appeal = server.call(emulator.inject, {"text": "Не горит фонарь у школы"})["id"]
        async with httpx.AsyncClient(timeout=30) as client:
            conn = pos(server.url, emulator.demo_secrets())
            conn_http = PosConnector(conn.config, client=client)
            first = await conn_http.send(reply(attachments, appeal))
            stored_before = len(emulator.files)
            again = await _deliver(PosConnector(conn.config, client=client), reply(attachments, appeal), resumed=True)
            r = await client.get(f"{server.url}/file-storage-service/filestorage/{next(iter(emulator.files))}")
            stored = await conn_http.client.upload("x.jpg", data[0], "image/jpeg")  # the mock's own answer
    assert r.status_code == 401  # the file storage wants the token like every other call
    assert again.already_posted and again.external_id == first.external_id
    assert len(emulator.replies) == 1 and len(emulator.files) == stored_before + 1 == 3
    assert PosConnector.parse(stored) == [] and stored["url"].endswith(stored["id"])  # understood: no appeal
    answer = emulator.world.get(appeal)["answers"][-1]
    assert [emulator.files[i]["data"] for i in answer["attachmentIds"]] == data
    assert [a["name"] for a in emulator.replies[0]["attachments"]] == ["до.jpg", "после.png"]

