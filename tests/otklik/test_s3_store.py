"""The S3-compatible attachment store against a real S3 server started in-process (moto's
ThreadedMotoServer, over HTTP): the store's interface and key layout, a damaged or missing object,
an unreachable server (StoreUnavailable: the API answers 424 and records nothing, a delivery is
retried), `otklik config check` on the `[attachments]` section, and the whole way of an answer's
photo with the S3 backend — uploaded through the API, approved, posted to the Telegram emulator
with the same bytes."""

from __future__ import annotations

import hashlib
import itertools
import socket
from datetime import UTC, datetime

import aiohttp
import boto3
import httpx
import pyotp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from moto.server import ThreadedMotoServer

from connectors import media
from connectors.base import SourceConfig
from connectors.errors import Fatal, Transient
from connectors.registry import connector_class
from otklik import http
from otklik.actor import Actor
from otklik.api import auth
from otklik.attachments import s3
from otklik.attachments.store import StoreUnavailable, default_store, key_of
from otklik.models import Attachment, Reply
from otklik.services import cases
from otklik.settings import get_settings
from router.classifier import Router
from sandbox.registry import emulator_class
from sandbox.runner import serving
from storage.tables import AttachmentRow, MessageRow
from tests.otklik.doubles import AppDaemon
from tests.otklik.files import jpeg, png

PASSWORD = "S3-hranilishche-2026"
BUCKETS = itertools.count(1)
TEXT = "Здравствуйте! Яму на Садовой засыпали, фотографию выполненных работ прилагаем."


@pytest.fixture(scope="module")
def s3_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _config(path, endpoint: str, bucket: str, extra: str = "") -> None:
    path.write_text(
        '[[sources]]\nname = "tg"\nplatform = "telegram"\n'
        f'[attachments]\nbackend = "s3"\nbucket = "{bucket}"\nendpoint_url = "{endpoint}"\n'
        'region = "ru-central1"\naccess_key_id = "env:TEST_S3_KEY_ID"\n'
        f'secret_access_key = "env:TEST_S3_SECRET"\ntimeout = 2\nattempts = 2\n{extra}', encoding="utf-8")


@pytest.fixture
def s3_config(tmp_path, monkeypatch, s3_server):
    bucket = f"otklik-test-{next(BUCKETS)}"
    monkeypatch.setenv("TEST_S3_KEY_ID", "otklik-key")
    monkeypatch.setenv("TEST_S3_SECRET", "otklik-secret")
    monkeypatch.setenv("OTKLIK_VAR_DIR", str(tmp_path / "var"))
    path = tmp_path / "otklik.toml"
    _config(path, s3_server, bucket)
    monkeypatch.setenv("OTKLIK_CONFIG", str(path))
    get_settings.cache_clear()
    raw = boto3.client("s3", endpoint_url=s3_server, region_name="ru-central1",
                       aws_access_key_id="otklik-key", aws_secret_access_key="otklik-secret")
    raw.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ru-central1"})
    yield raw, bucket, path
    get_settings.cache_clear()


def test_the_s3_store_keeps_files_content_addressed_like_the_disk_store(s3_config, tmp_path):
    raw, bucket, _ = s3_config
    store = default_store()
    assert isinstance(store, s3.S3Store)
    data = jpeg()
    key = store.put(data)
    assert key == key_of(data) == hashlib.sha256(data).hexdigest()
    assert store.put(data) == key  # idempotent: the same content is one object
    listed = [o["Key"] for o in raw.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == [f"attachments/{key[:2]}/{key[2:]}"]  # the disk store's layout under the prefix
    assert store.exists(key) and store.get(key) == data
    assert not store.exists("0" * 64) and not store.exists("../etc/passwd")
    with pytest.raises(FileNotFoundError):
        store.get("0" * 64)  # missing: the same error as on disk
    with pytest.raises(FileNotFoundError):
        store.get("../../secrets")  # never an object name from outside
    raw.put_object(Bucket=bucket, Key=f"attachments/{key[:2]}/{key[2:]}", Body=png())
    with pytest.raises(FileNotFoundError, match="does not match"):
        store.get(key)  # damaged: not handed out as the attachment
    store.delete(key)
    assert not store.exists(key)
    store.delete(key)  # deleting what is not there is fine


async def test_a_missing_object_fails_the_delivery_clearly_and_an_unreachable_store_is_retried(
        s3_config, tmp_path, monkeypatch):
    att = Attachment(type="photo", id=f"sha256:{'a' * 64}", name="x.jpg", mime="image/jpeg")
    with pytest.raises(Fatal, match="missing from the attachment store"):
        await media.load(att, None, platform="telegram")
    _, _, path = s3_config
    _config(path, f"http://127.0.0.1:{_closed_port()}", "otklik-test-down")
    get_settings.cache_clear()
    with pytest.raises(Transient, match="cannot be reached"):  # the outbox tries the delivery again
        await media.load(att, None, platform="telegram")
    with pytest.raises(StoreUnavailable):
        default_store().put(b"x")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when this returns: connections are refused


def _open_case(s) -> int:
    msg = MessageRow(source="tg", platform="telegram", external_id="m1", author_id="9", author_name="Анна",
                     thread={"kind": "chat", "ids": {"chat_id": 1, "message_id": 1}}, text="Яма на Садовой",
                     created_at=datetime.now(UTC), attachments=[], raw={}, processed=True)
    s.add(msg)
    s.flush()
    routing = Router.load().route(msg.text).model_copy(update={"needs_manual": True})
    case_id = cases.open_or_update(s, msg, routing, channel="social", profile_name="severny").id
    cases.route(s, Actor(login="cur", role="curator", via="cli"), case_id, executors=["dorogi"])
    return case_id


async def _login(c, s_factory, logins) -> dict:
    headers = {}
    with s_factory() as s:
        secrets = {login: auth.create_user(s, login, role, password=PASSWORD, department=dep)[2]
                   for login, role, dep in logins}
    for login, secret in secrets.items():
        otp = pyotp.TOTP(secret).now() if secret else None
        r = await c.post("/api/login", json={"login": login, "password": PASSWORD, "otp": otp})
        assert r.status == 200, await r.text()
        headers[login] = {"Authorization": f"Bearer {(await r.json())['token']}"}
    return headers


async def test_an_answers_photo_goes_through_s3_from_the_api_to_the_telegram_emulator(db, s3_config):
    raw, bucket, path = s3_config
    with db.session() as s:
        case_id = _open_case(s)
    photo = jpeg(color=(20, 90, 200))
    async with TestClient(TestServer(http.build_app(AppDaemon(db)))) as c:
        h = await _login(c, db.session, [("exe", "executor", "dorogi")])
        form = aiohttp.FormData()
        form.add_field("file", photo, filename="после.jpg", content_type="image/jpeg")
        r = await c.post(f"/api/cases/{case_id}/attachments", data=form, headers=h["exe"])
        assert r.status == 201, await r.text()
        key = hashlib.sha256(photo).hexdigest()  # no EXIF location: stored as uploaded
        assert raw.head_object(Bucket=bucket, Key=f"attachments/{key[:2]}/{key[2:]}")["ContentLength"] == len(photo)
        assert not (path.parent / "var" / "attachments").exists()  # nothing on disk
        r = await c.get((await r.json())["download"], headers=h["exe"])
        assert r.status == 200 and await r.read() == photo
    with db.session() as s:
        cases.submit_draft(s, Actor(login="exe", role="executor", department="dorogi", via="cli"), case_id,
                           text=TEXT)
    with db.session() as s:
        reply = cases.approve(s, Actor(login="appr", role="approver", via="cli"), case_id).reply
    emulator = emulator_class("telegram")()
    with serving(emulator) as server:
        config = SourceConfig(name="tg", platform="telegram", base_url=server.url,
                              secrets=emulator.demo_secrets(), options=emulator.demo_options())
        inject = server.call(emulator.inject, {"text": "Яма на Садовой", "author_id": 777})
        async with httpx.AsyncClient(timeout=30) as client:
            conn = connector_class("telegram")(config, client=client)
            msg = next(m for m in (await conn.fetch(None)).messages if "Яма" in m.text)
            answer = Reply.model_validate({**reply, "thread": msg.thread.model_dump()})
            await conn.send(answer)
    assert inject and [a["sha256"] for a in emulator.replies[-1]["attachments"]] == [key]
    assert emulator.files[key] == photo


async def test_the_api_answers_424_and_records_nothing_when_the_store_is_down(db, s3_config):
    _, _, path = s3_config
    with db.session() as s:
        case_id = _open_case(s)
    _config(path, f"http://127.0.0.1:{_closed_port()}", "otklik-test-down")
    get_settings.cache_clear()
    async with TestClient(TestServer(http.build_app(AppDaemon(db)))) as c:
        h = await _login(c, db.session, [("exe", "executor", "dorogi")])
        form = aiohttp.FormData()
        form.add_field("file", jpeg(), filename="a.jpg", content_type="image/jpeg")
        r = await c.post(f"/api/cases/{case_id}/attachments", data=form, headers=h["exe"])
        assert r.status == 424 and r.headers["Retry-After"] == "30"
        assert "nothing was saved" in (await r.json())["error"]
        signed = f"/files/{'a' * 64}/9999999999/{'0' * 32}/a.jpg"
        assert (await c.get(signed)).status == 404  # a bad signature never reaches the store
    with db.session() as s:
        assert s.query(AttachmentRow).count() == 0


def test_config_check_validates_the_attachments_section(s3_config, monkeypatch, capsys):
    from otklik.cli import main

    _, _, path = s3_config
    monkeypatch.setenv("OTKLIK_SECRET_TG_TOKEN", "123:abc")

    def check() -> tuple[int, str]:
        get_settings.cache_clear()
        code = main(["config", "check"])
        out = capsys.readouterr()
        return code, out.out + out.err

    code, out = check()
    assert code == 0 and "attachments on S3 bucket otklik-test-" in out, out
    monkeypatch.delenv("TEST_S3_SECRET")
    code, out = check()
    assert code == 1 and "[attachments] secret_access_key: nothing found at env:TEST_S3_SECRET" in out
    assert "otklik-secret" not in out
    path.write_text('[attachments]\nbackend = "s3"\naccess_key_id = "AKIA-the-key-itself"\n', encoding="utf-8")
    code, out = check()
    assert code == 1 and "access_key_id" in out and "reference" in out and "AKIA-the-key-itself" not in out


async def test_a_citizens_photo_waits_while_the_store_is_down_and_is_stored_in_s3_after(db, s3_config):
    from types import SimpleNamespace

    import respx
    from httpx import Response

    from otklik.attachments.citizen import CitizenFiles
    from otklik.attachments.config import AttachmentSettings

    raw, bucket, _ = s3_config
    url = "https://pp.userapi.test/p/yama.jpg"
    with db.session() as s:
        msg = MessageRow(source="vk_main", platform="vk", external_id="c1", author_id="9", author_name="Анна",
                         thread={"kind": "wall", "ids": {}}, text="Яма у дома 5, фото прилагаю",
                         created_at=datetime.now(UTC), raw={}, processed=True,
                         attachments=[{"type": "photo", "url": url}])
        s.add(msg)
        s.flush()
        routing = Router.load().route(msg.text).model_copy(update={"needs_manual": True})
        cases.open_or_update(s, msg, routing, channel="social", profile_name="severny")
    down = s3.s3_store(AttachmentSettings(backend="s3", bucket=bucket, timeout=1, attempts=1,
                                          endpoint_url=f"http://127.0.0.1:{_closed_port()}",
                                          access_key_id="env:TEST_S3_KEY_ID", secret_access_key="env:TEST_S3_SECRET"))
    photo = jpeg()
    with respx.mock() as router:
        router.get(url).mock(return_value=Response(200, content=photo, headers={"Content-Type": "image/jpeg"}))
        async with httpx.AsyncClient() as client:
            conn = SimpleNamespace(http=client, config=SimpleNamespace(platform="vk"), file_url=None)
            await CitizenFiles(db, {"vk_main": conn}, store=down).step()
            with db.session() as s:
                assert s.query(AttachmentRow).count() == 0  # neither stored nor refused: wanted again
            await CitizenFiles(db, {"vk_main": conn}).step()  # the configured S3 store, reachable
    with db.session() as s:
        row = s.query(AttachmentRow).one()
    assert row.removed_at is None and row.origin == "citizen"
    assert raw.get_object(Bucket=bucket, Key=f"attachments/{row.sha256[:2]}/{row.sha256[2:]}")["Body"].read() == photo
