"""A case answered to the citizen's e-mail: the curator sets the address (service, API, CLI), the
governor's channel (004 §2.4) cannot be approved without one, and approval sends the reply to the
e-mail source instead of the network."""

from __future__ import annotations

from datetime import UTC, datetime

import pyotp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from otklik import http, services
from otklik.actor import Actor
from otklik.api import auth
from otklik.exceptions import InvalidTransition
from otklik.services import access, cases
from otklik.settings import get_settings
from router.classifier import Router
from storage.tables import AuditRow, CaseRow, MessageRow, OutboxRow
from tests.otklik.doubles import AppDaemon

CUR = Actor(login="cur", role="curator", via="cli")
# One person holding every role the governor's channel asks for (tests only: the roles, not the people).
ALL = Actor(login="all", role="curator", department="dorogi", via="cli", roles=frozenset({"executor", "approver"}))
EXE = Actor(login="exe", role="executor", department="dorogi", via="cli")
ADDRESS = "zayavitel@example.org"
TEXT = "Здравствуйте! Яму на Садовой засыплем до пятницы, спасибо за сообщение."
PASSWORD = "Sadovaya-yama-42"


@pytest.fixture(autouse=True)
def config(tmp_path, monkeypatch):
    path = tmp_path / "otklik.toml"
    path.write_text('profile = "tashtagol"\n[[sources]]\nname = "vk_gov"\nplatform = "vk"\nprofile_channel = "governor"\n'
                    '[[sources]]\nname = "mail"\nplatform = "email"\n', encoding="utf-8")
    monkeypatch.setenv("OTKLIK_CONFIG", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def open_case(s, *, profile: str = "tashtagol", channel: str = "governor") -> int:
    msg = MessageRow(source="vk_gov", platform="vk", external_id=f"{datetime.now(UTC).timestamp()}",
                     author_id="9", author_name="Анна", thread={"kind": "wall", "ids": {"owner_id": -1, "post_id": 5}},
                     text="Яма на Садовой", created_at=datetime.now(UTC), attachments=[], raw={}, processed=True)
    s.add(msg)
    s.flush()
    routing = Router.load().route(msg.text).model_copy(update={"needs_manual": True})
    case_id = cases.open_or_update(s, msg, routing, channel=channel, profile_name=profile).id
    cases.route(s, ALL, case_id, executors=["dorogi"])
    cases.submit_draft(s, ALL, case_id, text=TEXT, contacted_author=True)
    return case_id


def test_the_governors_channel_is_answered_by_email_once_the_address_is_set(db):
    with db.session() as s:
        case_id = open_case(s)
    with pytest.raises(InvalidTransition, match="004 §2.4"):
        services.run(db, lambda s: cases.approve(s, ALL, case_id))
    with db.session() as s:
        assert s.get(CaseRow, case_id).state != "approved"  # refused before the transition
        cases.set_reply_address(s, CUR, case_id, f"  {ADDRESS} ")
        row = cases.approve(s, ALL, case_id)
        assert row.source == "mail"
        assert row.reply["platform"] == "email"
        assert row.reply["thread"] == {"kind": "email", "ids": {"address": ADDRESS}}
        outbox_id = row.id
        trail = [a for a in s.query(AuditRow).filter_by(entity="case", entity_id=str(case_id))]
        assert "reply_address_set" in [a.action for a in trail]
        assert all(ADDRESS not in str(a.data) for a in trail)  # the address is not in the audit trail
    with db.session() as s:  # it bounced; the curator corrects the address, the retry goes there
        s.get(OutboxRow, outbox_id).status = "failed"
    with db.session() as s:
        cases.set_reply_address(s, CUR, case_id, "verny.adres@example.org")
        assert s.get(OutboxRow, outbox_id).reply["thread"]["ids"]["address"] == "verny.adres@example.org"


def test_a_citizen_who_asked_for_email_on_another_channel_and_clearing_it(db):
    with db.session() as s:
        case_id = open_case(s, profile="severny", channel="social")
        cases.set_reply_address(s, CUR, case_id, ADDRESS)
        cases.set_reply_address(s, CUR, case_id, None)  # the curator changed their mind
        assert cases.approve(s, ALL, case_id).source == "vk_gov"  # back to where the citizen wrote
    with db.session() as s:
        case_id = open_case(s, profile="severny", channel="social")
        cases.set_reply_address(s, CUR, case_id, ADDRESS)
        assert cases.show(s, CUR, case_id)["reply_address"] == ADDRESS
        assert cases.approve(s, ALL, case_id).source == "mail"


def test_only_the_curator_sets_the_address_and_only_a_plain_address(db):
    with db.session() as s:
        case_id = open_case(s)
    with pytest.raises(access.Refused):
        services.run(db, lambda s: cases.set_reply_address(s, EXE, case_id, ADDRESS))
    for bad in ("not-an-address", f"{ADDRESS}\r\nBcc: all@example.org", f"a@b.ru, {ADDRESS}"):
        with pytest.raises(InvalidTransition):
            services.run(db, lambda s, bad=bad: cases.set_reply_address(s, CUR, case_id, bad))
    with db.session() as s:
        assert s.get(CaseRow, case_id).reply_address is None
        assert s.query(AuditRow).filter_by(action="refused", entity_id=str(case_id)).count() == 1


def test_no_email_source_configured_is_a_clear_refusal(db, config):
    config.write_text('profile = "tashtagol"\n', encoding="utf-8")
    get_settings.cache_clear()
    with db.session() as s:
        case_id = open_case(s)
        cases.set_reply_address(s, CUR, case_id, ADDRESS)
    with pytest.raises(InvalidTransition, match="no e-mail source"):
        services.run(db, lambda s: cases.approve(s, ALL, case_id))


async def test_the_api_endpoint_answers_400_for_a_bad_address_and_403_for_an_executor(db):
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
        url = f"/api/cases/{case_id}/reply-address"
        r = await c.post(url, json={"address": "a@b.ru\nBcc: x@y.ru"}, headers=h["cur"])
        assert r.status == 400 and "a@b.ru" not in await r.text()
        assert (await c.post(url, json={"address": ADDRESS}, headers=h["exe"])).status == 403
        r = await c.post(url, json={"address": ADDRESS}, headers=h["cur"])
        assert r.status == 200 and await r.json() == {"id": case_id, "by_email": True}
        r = await c.post(url, json={"address": None}, headers=h["cur"])
        assert await r.json() == {"id": case_id, "by_email": False}


def test_the_cli_subcommand(db, database_url, tmp_path):
    import os
    import subprocess
    import sys

    with db.session() as s:
        case_id = open_case(s)
        secret = auth.create_user(s, "cur", "curator", password=PASSWORD)[2]
    session_file = tmp_path / "cur.session"
    env = {**os.environ, "DATABASE_URL": database_url, "OTKLIK_SESSION_FILE": str(session_file)}
    env.pop("OTKLIK_TOKEN", None)

    def cli(*args, command="cases", stdin=None):
        return subprocess.run([sys.executable, "-m", "otklik", command, *args], capture_output=True, text=True,
                              env=env, timeout=60, input=stdin)

    r = cli("--login", "cur", "--password-stdin", "--otp", pyotp.TOTP(secret).now(), command="login",
            stdin=PASSWORD + "\n")
    assert r.returncode == 0, r.stderr
    r = cli("reply-address", str(case_id), ADDRESS)
    assert r.returncode == 0 and "e-mail" in r.stderr, r.stderr
    assert ADDRESS not in r.stdout + r.stderr
    r = cli("reply-address", str(case_id), "zayavitel at example.org")
    assert r.returncode != 0 and "not an e-mail address" in r.stderr and "zayavitel" not in r.stderr
    assert cli("reply-address", str(case_id)).returncode == 2  # neither an address nor --clear
    with db.session() as s:
        assert s.get(CaseRow, case_id).reply_address == ADDRESS
    r = cli("reply-address", str(case_id), "--clear")
    assert r.returncode == 0, r.stderr
    with db.session() as s:
        assert s.get(CaseRow, case_id).reply_address is None
