"""People reach their notifications: the service (own preferences for anyone, another's for an
admin only), the API (`/api/me/notifications…`, 4xx for bad input) and the CLI (`otklik notify`)."""

from __future__ import annotations

import os
import subprocess
import sys

import pyotp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from otklik import http, services
from otklik.actor import Actor
from otklik.api import auth
from otklik.exceptions import InvalidTransition
from otklik.services import access, notifications
from storage.tables import AuditRow, NotificationRow
from tests.otklik import notify_world as world
from tests.otklik.doubles import AppDaemon

pytestmark = pytest.mark.usefixtures("mail_config")  # e-mail on for every test here

PASSWORD = "Uvedomleniya-2026"
IVANOV = Actor(login="ivanov", role="executor", department="dorogi", via="cli")
ADMIN = Actor(login="adm", role="admin", via="cli")


@pytest.fixture
def people(db):
    with db.session() as s:
        ids = world.staff(s)
        ids["adm"] = auth.create_user(s, "adm", "admin", password=PASSWORD)[0].id
        return ids


def test_own_preferences_for_anyone_and_another_persons_for_an_admin_only(db, people):
    with db.session() as s:
        assert notifications.get_preferences(s, IVANOV) == {
            "login": "ivanov", "channels": ["email", "telegram", "max", "console"], "quiet_start": None,
            "quiet_end": None, "digest": True, "digest_at": "08:30"}
        got = notifications.set_preferences(s, IVANOV, channels=["telegram"], quiet_start="22:00",
                                            quiet_end="07:00")
        assert got["channels"] == ["telegram", "console"] and got["quiet_start"] == "22:00"
        got = notifications.set_preferences(s, IVANOV, digest=False)  # the rest stays
        assert got["quiet_end"] == "07:00" and got["digest"] is False
        assert s.query(AuditRow).filter_by(action="notify_preferences_set").count() == 2
    with pytest.raises(access.Refused):
        services.run(db, lambda s: notifications.set_preferences(s, IVANOV, "petrova", digest=False))
    with db.session() as s:
        assert notifications.set_preferences(s, ADMIN, "petrova", digest_at="09:15")["digest_at"] == "09:15"
    for bad in ({"quiet_start": "22:00", "quiet_end": None}, {"quiet_start": "25:00", "quiet_end": "07:00"},
                {"channels": ["pigeon"]}, {"digest_at": "8.30"}):
        with pytest.raises(InvalidTransition):
            services.run(db, lambda s, bad=bad: notifications.set_preferences(s, IVANOV, **bad))


def test_the_list_shows_how_the_copies_fared_and_marking_read(db, people):
    with db.session() as s:
        case_id = world.open_case(s)
        world.open_case(s)
        email = s.query(NotificationRow).filter_by(channel="email", user_id=people["ivanov"], case_id=case_id).one()
        email.status, email.last_error = "failed", "SMTP 550: recipient refused"
    with db.session() as s:
        rows = notifications.listing(s, IVANOV)
        assert len(rows) == 2 and notifications.unread_count(s, IVANOV) == 2
        mine = next(r for r in rows if r["case_id"] == case_id)
        assert mine["deliveries"] == {"email": "failed"}  # the bounce is visible to the person
        assert notifications.mark_read(s, IVANOV, [mine["id"]]) == 1
        assert notifications.unread_count(s, IVANOV) == 1
        petrova = Actor(login="petrova", role="executor", department="dorogi", via="cli")
        assert notifications.mark_read(s, petrova, [mine["id"]]) == 0  # not hers
        assert notifications.mark_read(s, IVANOV) == 1
        assert notifications.listing(s, IVANOV, unread=True) == []
        assert [r["login"] for r in notifications.failed(s, ADMIN)] == ["ivanov"]
    with pytest.raises(access.Refused):
        services.run(db, lambda s: notifications.failed(s, IVANOV))


async def test_the_api(db, people):
    with db.session() as s:
        secret = auth.create_user(s, "exe", "executor", password=PASSWORD, department="dorogi")[2]
        world.open_case(s)
    async with TestClient(TestServer(http.build_app(AppDaemon(db)))) as c:
        r = await c.post("/api/login", json={"login": "exe", "password": PASSWORD,
                                             "otp": pyotp.TOTP(secret).now() if secret else None})
        assert r.status == 200, await r.text()
        h = {"Authorization": f"Bearer {(await r.json())['token']}"}
        assert (await c.get("/api/me/notifications")).status == 401
        r = await c.get("/api/me/notifications", headers=h)
        body = await r.json()
        assert r.status == 200 and body["unread"] == 1
        [note] = body["notifications"]
        assert note["kind"] == "assigned" and note["link"].endswith(f"/console/cases/{note['case_id']}")
        assert (await c.get("/api/me/notifications?limit=abc", headers=h)).status == 400
        assert (await c.post("/api/me/notifications/read", json={}, headers=h)).status == 400
        r = await c.post("/api/me/notifications/read", json={"ids": [note["id"]]}, headers=h)
        assert await r.json() == {"marked": 1}
        r = await c.put("/api/me/notifications/preferences", json={"quiet_start": "23:00", "quiet_end": "06:30"},
                        headers=h)
        assert r.status == 200 and (await r.json())["quiet_start"] == "23:00"
        r = await c.put("/api/me/notifications/preferences", json={"quiet_start": "23:00", "quiet_end": None},
                        headers=h)
        assert r.status == 409  # a start without an end
        r = await c.put("/api/me/notifications/preferences", json={"channels": ["fax"]}, headers=h)
        assert r.status == 400
        r = await c.get("/api/me/notifications/preferences", headers=h)
        assert (await r.json())["quiet_end"] == "06:30"
        assert (await c.get("/api/notifications/failed", headers=h)).status == 403
        spec = await (await c.get("/api/openapi.json")).json()
        assert {"/api/me/notifications", "/api/me/notifications/preferences"} <= set(spec["paths"])


def test_the_cli(db, people, database_url, tmp_path, mail_config):
    with db.session() as s:
        secret = auth.create_user(s, "exe", "executor", password=PASSWORD, department="dorogi")[2]
        world.open_case(s)
    env = {**os.environ, "DATABASE_URL": database_url, "OTKLIK_SESSION_FILE": str(tmp_path / "exe.session"),
           "OTKLIK_CONFIG": str(mail_config)}
    env.pop("OTKLIK_TOKEN", None)

    def cli(*args, command="notify", stdin=None):
        return subprocess.run([sys.executable, "-m", "otklik", command, *args], capture_output=True, text=True,
                              env=env, timeout=60, input=stdin)

    otp = ["--otp", pyotp.TOTP(secret).now()] if secret else []
    r = cli("--login", "exe", "--password-stdin", *otp, command="login", stdin=PASSWORD + "\n")
    assert r.returncode == 0, r.stderr
    r = cli("list")
    assert r.returncode == 0 and "Вам назначено обращение №" in r.stdout, r.stderr
    r = cli("prefs", "--quiet", "22:00-07:00", "--channels", "email", "--digest-at", "09:00")
    assert r.returncode == 0 and "тихие часы: 22:00–07:00" in r.stdout and "сводка: в 09:00" in r.stdout, r.stderr
    r = cli("prefs", "--quiet", "22:00")
    assert r.returncode != 0 and "ЧЧ:ММ-ЧЧ:ММ" in r.stderr
    r = cli("prefs", "--user", "ivanov", "--digest", "off")
    assert r.returncode != 0  # not an admin
    r = cli("read")
    assert r.returncode == 0 and "отмечено прочитанными: 1" in r.stdout
