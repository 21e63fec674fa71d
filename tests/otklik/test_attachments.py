"""Files with an answer: who may add, remove and read them (access.py), the draft carrying them into
the quality check and the approved reply, and the API's upload, list and download with clear 4xx
answers for hostile files."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import aiohttp
import pyotp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from otklik import http, services
from otklik.actor import Actor
from otklik.api import auth
from otklik.attachments import checks
from otklik.attachments.store import default_store
from otklik.exceptions import InvalidTransition, NotFound
from otklik.services import access, cases
from otklik.services import attachments as files
from otklik.settings import get_settings
from router.classifier import Router
from storage.tables import AttachmentRow, AuditRow, MessageRow
from tests.otklik.doubles import AppDaemon
from tests.otklik.files import gps_of, jpeg, png, png_bomb

CUR = Actor(login="cur", role="curator", via="cli")
EXE = Actor(login="exe", role="executor", department="dorogi", via="cli")
OTHER = Actor(login="other", role="executor", department="zhkh", via="cli")
APPROVER = Actor(login="appr", role="approver", via="cli")
PASSWORD = "Kamchatka-foto-2026"
IDS = itertools.count(1)
TEXT = "Здравствуйте! Яму на Садовой засыпали 5 декабря, фотографии выполненных работ прилагаем."


@pytest.fixture(autouse=True)
def config(tmp_path, monkeypatch):
    path = tmp_path / "otklik.toml"
    path.write_text('profile = "sobolevo"\n[[sources]]\nname = "kam"\nplatform = "kamchatka"\n'
                    'profile_channel = "kamchatka"\n', encoding="utf-8")
    monkeypatch.setenv("OTKLIK_CONFIG", str(path))
    monkeypatch.setenv("OTKLIK_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def open_case(s, *, platform: str = "kamchatka", source: str = "kam", channel: str = "kamchatka") -> int:
    msg = MessageRow(source=source, platform=platform, external_id=f"m{next(IDS)}",
                     author_id="9", author_name="Анна", thread={"kind": "message", "ids": {"message_id": 5}},
                     text="Яма на Садовой", created_at=datetime.now(UTC), attachments=[], raw={}, processed=True)
    s.add(msg)
    s.flush()
    routing = Router.load().route(msg.text).model_copy(update={"needs_manual": True})
    case_id = cases.open_or_update(s, msg, routing, channel=channel, profile_name="sobolevo").id
    cases.route(s, CUR, case_id, executors=["dorogi"])
    return case_id


def quality_codes(draft) -> set[str]:
    return {q["code"] for q in draft.quality}


def test_a_kamchatka_draft_with_photos_is_not_flagged_and_the_reply_carries_them(db):
    with db.session() as s:
        bare = open_case(s)
        draft = cases.submit_draft(s, EXE, bare, text=TEXT)
        assert "photos_missing" in quality_codes(draft)  # the platform requires confirming photos (§2.5)
    with db.session() as s:
        case_id = open_case(s)
        first = files.add(s, EXE, case_id, jpeg(gps=True), "яма-до.jpg")
        files.add(s, EXE, case_id, png(), "яма-после.png")
        draft = cases.submit_draft(s, EXE, case_id, text=TEXT)
        assert "photos_missing" not in quality_codes(draft)
        assert {r.draft_id for r in s.query(AttachmentRow).filter_by(case_id=case_id)} == {draft.id}
    stored = default_store().get(_sha(db, first["id"]))
    assert gps_of(stored) == {}  # the location was stripped before storing
    with db.session() as s:
        sent_back = cases.send_back(s, APPROVER, case_id, comment="Уточните адрес")
        assert sent_back.status == "returned"
        # the files stay with the case and go with the next draft
        assert {r.draft_id for r in s.query(AttachmentRow).filter_by(case_id=case_id)} == {None}
        draft = cases.submit_draft(s, EXE, case_id, text=TEXT)
        assert "photos_missing" not in quality_codes(draft)


def _sha(db, attachment_id: int) -> str:
    with db.session() as s:
        return s.get(AttachmentRow, attachment_id).sha256


def test_only_the_executor_holding_the_case_or_the_curator_adds_and_removes(db):
    with db.session() as s:
        case_id = open_case(s)
    with pytest.raises(NotFound):  # another department's executor does not see the case at all
        services.run(db, lambda s: files.add(s, OTHER, case_id, png(), "x.png"))
    with pytest.raises(access.Refused):
        services.run(db, lambda s: files.add(s, APPROVER, case_id, png(), "x.png"))
    row = services.run(db, lambda s: files.add(s, CUR, case_id, png(), "x.png"))
    with pytest.raises(NotFound):
        services.run(db, lambda s: files.download(s, OTHER, row["id"]))
    meta, data = services.run(db, lambda s: files.download(s, APPROVER, row["id"]))  # reading is scoped, not role-bound
    assert data == png() and meta["mime"] == "image/png"
    services.run(db, lambda s: files.remove(s, EXE, row["id"]))
    assert services.run(db, lambda s: files.listing(s, CUR, case_id))["answer"] == []
    with db.session() as s:
        refused = [a.data["action"] for a in s.query(AuditRow).filter_by(action="refused")]
        assert refused.count("attach") == 2
        assert {"attachment_added", "attachment_removed"} <= {a.action for a in s.query(AuditRow)}
    with db.session() as s:  # the department gave the case back: its executor can no longer change the files
        cases.route(s, CUR, case_id, executors=["zhkh"])
    with pytest.raises(access.Refused, match="not with your department"):
        services.run(db, lambda s: files.add(s, EXE, case_id, png(), "x.png"))


def test_the_approved_reply_carries_the_drafts_files_and_they_are_frozen(db):
    with db.session() as s:
        case_id = open_case(s)
        row = files.add(s, EXE, case_id, jpeg(), "фото.jpg")
        cases.submit_draft(s, EXE, case_id, text=TEXT)
    approver = Actor(login="appr", role="approver", via="cli")
    with db.session() as s:
        ob = cases.approve(s, approver, case_id)
        atts = ob.reply["attachments"]
        assert len(atts) == 1 and atts[0]["type"] == "photo" and atts[0]["name"] == "фото.jpg"
        assert atts[0]["id"] == f"sha256:{s.get(AttachmentRow, row['id']).sha256}"
    with pytest.raises(InvalidTransition):
        services.run(db, lambda s: files.remove(s, CUR, row["id"]))
    with pytest.raises(InvalidTransition):
        services.run(db, lambda s: files.add(s, CUR, case_id, png(), "late.png"))


async def test_the_api_uploads_lists_downloads_and_answers_4xx_to_hostile_files(db):
    with db.session() as s:
        case_id = open_case(s)
        secrets = {"cur": auth.create_user(s, "cur", "curator", password=PASSWORD)[2],
                   "exe": auth.create_user(s, "exe", "executor", password=PASSWORD, department="dorogi")[2]}
    async with TestClient(TestServer(http.build_app(AppDaemon(db)))) as c:
        h = {}
        for login, secret in secrets.items():
            otp = pyotp.TOTP(secret).now() if secret else None
            r = await c.post("/api/login", json={"login": login, "password": PASSWORD, "otp": otp})
            assert r.status == 200, await r.text()
            h[login] = {"Authorization": f"Bearer {(await r.json())['token']}"}
        url = f"/api/cases/{case_id}/attachments"

        async def upload(data: bytes, name: str = "photo.jpg", who: str = "exe", keep: bool = False):
            form = aiohttp.FormData()
            form.add_field("file", data, filename=name, content_type="image/jpeg")
            if keep:
                form.add_field("keep_location", "true")
            return await c.post(url, data=form, headers=h[who])

        r = await upload(jpeg(gps=True))
        assert r.status == 201, await r.text()
        first = await r.json()
        assert first["kind"] == "photo" and first["download"] == f"/api/attachments/{first['id']}"
        r = await upload(jpeg(gps=True), keep=True, who="cur")
        assert r.status == 201 and (await r.json())["location_kept"] is True
        for data, status in ((b"#!/bin/sh\nrm -rf /\n", 415), (png_bomb(), 413), (jpeg()[:300], 422), (b"", 422)):
            r = await upload(data, "photo.jpg")
            assert r.status == status, (status, await r.text())
            assert "error" in await r.json()
        big = b"%PDF-1.4\n" + b"0" * (checks.MAX_UPLOAD + 10)
        r = await upload(big, "big.pdf")
        assert r.status == 413
        r = await c.post(url, json={"file": "x"}, headers=h["exe"])
        assert r.status == 415
        form = aiohttp.FormData()
        form.add_field("other", b"x", filename="x.txt")
        assert (await c.post(url, data=form, headers=h["exe"])).status == 400
        listed = await (await c.get(url, headers=h["cur"])).json()
        assert [a["id"] for a in listed["answer"]] == [first["id"], first["id"] + 1] and listed["citizen"] == []
        r = await c.get(first["download"], headers=h["exe"])
        assert r.status == 200 and r.headers["Content-Type"] == "image/jpeg"
        assert r.headers["X-Content-Type-Options"] == "nosniff" and "attachment" in r.headers["Content-Disposition"]
        assert gps_of(await r.read()) == {}
        r = await c.get(f"/api/cases/{case_id}/message/attachments", headers=h["exe"])
        assert r.status == 200 and await r.json() == {"attachments": []}
        assert (await c.get("/api/attachments/999999", headers=h["exe"])).status == 404
        assert (await c.delete(first["download"], headers=h["exe"])).status == 200
        assert (await c.get(first["download"], headers=h["cur"])).status == 404
