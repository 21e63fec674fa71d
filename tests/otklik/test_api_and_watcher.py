"""The API's guards (tokens, roles, state), the OpenAPI document, quality checks shown to the
approver, and the deadline watcher raising each escalation once."""

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from otklik import http
from otklik.api import auth
from otklik.services import cases
from otklik.settings import Settings
from otklik.watcher import DeadlineWatcher
from router.classifier import Router
from storage.tables import AlertRow, CaseRow, MessageRow
from tests.otklik.doubles import AppDaemon

PASSWORD = "Sadovaya-yama-42"


def open_case(db, identified=None, *, external_id="1:1", profile="severny", channel="social"):
    text = "На улице Садовой огромные ямы на дороге"
    with db.session() as s:
        msg = MessageRow(source="tg", platform="telegram", external_id=external_id, author_id="9", author_name="Анна",
                         thread={"kind": "chat", "ids": {"chat_id": 1, "message_id": 1}}, text=text,
                         created_at=identified or datetime.now(UTC), stored_at=identified or datetime.now(UTC),
                         attachments=[], raw={}, processed=True)
        s.add(msg)
        s.flush()
        routing = Router.load().route(text).model_copy(update={"needs_manual": True})
        return cases.open_or_update(s, msg, routing, channel=channel, profile_name=profile).id


@pytest.fixture
async def client(db):
    with db.session() as s:
        _, _, cur = auth.create_user(s, "cur", "curator", password=PASSWORD)
        auth.create_user(s, "exe", "executor", password=PASSWORD, department="dorogi")
    app = http.build_app(AppDaemon(db))
    async with TestClient(TestServer(app)) as c:
        async def login(name, otp=None):
            r = await c.post("/api/login", json={"login": name, "password": PASSWORD, "otp": otp})
            return {"Authorization": f"Bearer {(await r.json())['token']}"}

        c.tokens = {"cur": await login("cur", pyotp.TOTP(cur).now()), "exe": await login("exe")}
        yield c


async def test_guards_and_quality(db, client):
    case_id = open_case(db)
    assert (await client.get("/api/cases")).status == 401
    assert (await client.get("/api/cases", headers={"Authorization": "Bearer nope"})).status == 401
    assert (await client.post("/api/login", json={"login": "cur", "password": PASSWORD})).status == 401  # no code
    exe, cur = client.tokens["exe"], client.tokens["cur"]
    r = await client.post(f"/api/cases/{case_id}/route", headers=exe, json={"executors": ["dorogi"]})
    assert r.status == 403  # only the curator routes
    r = await client.post(f"/api/cases/{case_id}/drafts", headers=exe, json={"text": "ok"})
    assert r.status == 404  # not routed yet: not the department's case, as if there were none
    r = await client.post(f"/api/cases/{case_id}/route", headers=cur, json={"executors": []})
    assert r.status == 400 and (await r.json())["details"][0]["field"] == "executors"
    r = await client.post(f"/api/cases/{case_id}/route", headers=cur, json={"executors": ["nobody"]})
    assert r.status == 409 and "nobody" in (await r.json())["error"]  # not in the departments directory
    assert (await client.post(f"/api/cases/{case_id}/route", headers=cur, json={"executors": ["dorogi"]})).status == 200
    r = await client.post(f"/api/cases/{case_id}/drafts", headers=exe,
                          json={"text": "в рамках работ осуществляется ремонт"})
    assert r.status == 201
    codes = {q["code"] for q in (await r.json())["quality"]}
    assert {"no_greeting", "bureaucratese"} <= codes  # shown to the approver
    assert (await client.post(f"/api/cases/{case_id}/approve", headers=exe)).status == 403
    r = await client.post(f"/api/cases/{case_id}/send-back", headers=cur, json={"comment": "Поздоровайтесь"})
    assert r.status == 200
    shown = await (await client.get(f"/api/cases/{case_id}", headers=cur)).json()
    assert shown["state"] == "revision" and shown["drafts"][0]["quality"]
    trail = await (await client.get(f"/api/cases/{case_id}/audit", headers=cur)).json()
    # The executor's three refusals are on the record too: routing (role), drafting before the case
    # was its department's (scope), approving (role).
    assert [a["action"] for a in trail["audit"]] == ["identified", "refused", "refused", "route", "submit_draft",
                                                     "refused", "send_back"]
    assert [(a["actor"], a["data"]["action"], a["data"]["reason"]) for a in trail["audit"]
            if a["action"] == "refused"] == [("exe", "route", "role"), ("exe", "submit_draft", "scope"),
                                             ("exe", "approve", "role")]
    listing = await (await client.get("/api/cases", headers=cur)).json()
    assert listing["cases"][0]["seconds_left"] is not None
    spec = await (await client.get("/api/openapi.json")).json()
    assert "/api/cases/{id}/approve" in spec["paths"]


async def test_drafts_carry_what_the_channel_regulation_asks_for(client, db):
    """004 §2.3: a Кузбасс Онлайн answer states its outcome; 004 §2.4: on the governor's channel the
    executor first contacts the author. Without them the draft is refused with the clause."""
    cur, exe = client.tokens["cur"], client.tokens["exe"]
    kuzbass = open_case(db, external_id="1:2", profile="tashtagol", channel="kuzbass_online")
    governor = open_case(db, external_id="1:3", profile="tashtagol", channel="governor")
    for case_id in (kuzbass, governor):
        r = await client.post(f"/api/cases/{case_id}/route", headers=cur, json={"executors": ["dorogi"]})
        assert r.status == 200, await r.text()
    text = "Здравствуйте, Анна! Яму заделали 12 мая, спасибо за сообщение."
    r = await client.post(f"/api/cases/{kuzbass}/drafts", headers=exe, json={"text": text})
    assert r.status == 409 and "004 §2.3" in (await r.json())["error"]
    r = await client.post(f"/api/cases/{kuzbass}/drafts", headers=exe, json={"text": text, "outcome": "починили"})
    assert r.status == 409 and "решено" in (await r.json())["error"]
    r = await client.post(f"/api/cases/{kuzbass}/drafts", headers=exe, json={"text": text, "outcome": "решено"})
    assert r.status == 201
    r = await client.post(f"/api/cases/{governor}/drafts", headers=exe, json={"text": text})
    assert r.status == 409 and "004 §2.4" in (await r.json())["error"]
    r = await client.post(f"/api/cases/{governor}/drafts", headers=exe,
                          json={"text": text, "contacted_author": True})
    assert r.status == 201
    with db.session() as s:
        assert s.get(CaseRow, kuzbass).record["outcome"] == "решено"
        assert s.get(CaseRow, governor).record["contacted_author"] is True


def test_watcher_raises_each_escalation_once(db):
    # A Tuesday at 10:00 in Novosibirsk (the severny profile's zone): inside working hours, so what
    # is due is told at once instead of waiting for the morning.
    at = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
    open_case(db, identified=at - timedelta(days=10))  # every step long overdue
    watcher = DeadlineWatcher(db, Settings())
    first = watcher.scan(at)
    assert first >= 1
    assert watcher.scan(at) == 0  # nothing new: each event once
    assert watcher.scan(at + timedelta(hours=1)) == 0
    with db.session() as s:
        kinds = {a.kind for a in s.query(AlertRow)}
    assert kinds == {"overdue"}


def test_watcher_applies_silence_as_accepted(db):
    """004 §2.1: no comment from the citizen within two days after the answer: accepted."""
    from regulation.lifecycle import new_case, transition
    from regulation.profiles import load_profile

    tash = load_profile("tashtagol")
    start = datetime.now(UTC) - timedelta(days=5)
    case_id = open_case(db, identified=start)
    with db.session() as s:
        row = s.get(CaseRow, case_id)
        record = new_case(profile=tash, channel="im", identified_at=start)
        for action, role, data in (("route", "curator", {"executors": ["zhkh"]}), ("submit_draft", "executor", {}),
                                   ("approve", "curator", {}), ("published", "system", {})):
            record, _ = transition(record, action, actor_role=role, at=start + timedelta(minutes=5), profile=tash,
                                   **data)
        row.profile, row.channel = "tashtagol", "im"
        row.record, row.state = record.model_dump(mode="json"), record.state.value
    assert row.state == "awaiting_feedback"
    DeadlineWatcher(db, Settings()).scan()
    with db.session() as s:
        assert s.get(CaseRow, case_id).state == "accepted"
