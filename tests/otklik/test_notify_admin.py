"""The admin's side of staff notifications: the queue in /metrics and /healthz (by status and
channel, and the oldest due note's age, quiet hours not counted), a failed note put back to pending
(service rule, audit, API, CLI), and another person's preferences through the API."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pyotp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from otklik import http, observe, services
from otklik.actor import Actor
from otklik.api import auth
from otklik.exceptions import InvalidTransition, NotFound
from otklik.services import access, notifications
from storage.tables import AuditRow, NotificationRow, now
from tests.otklik import notify_world as world
from tests.otklik.doubles import AppDaemon

pytestmark = pytest.mark.usefixtures("mail_config")  # e-mail on for every test here

PASSWORD = "Uvedomleniya-2026"
IVANOV = Actor(login="ivanov", role="executor", department="dorogi", via="cli")
ADMIN = Actor(login="adm", role="admin", via="cli")


@pytest.fixture
def people(db) -> str | None:
    """The staff of notify_world and an admin; returns the admin's TOTP secret."""
    with db.session() as s:
        world.staff(s)
        return auth.create_user(s, "adm", "admin", password=PASSWORD)[2]


def _ivanov_email(s, case_id: int) -> NotificationRow:
    return s.query(NotificationRow).filter_by(channel="email", case_id=case_id, kind="assigned").one()


def _fail(db, case_id: int, error: str = "SMTP 550: mailbox unavailable") -> int:
    with db.session() as s:
        row = _ivanov_email(s, case_id)
        row.status, row.last_error, row.attempts = "failed", error, 1
        return row.id


def test_queue_figures_by_status_and_channel_and_the_oldest_due(db, people):
    with db.session() as s:
        first, second = world.open_case(s), world.open_case(s)
    t = now()
    with db.session() as s:
        # Two cases for dorogi: ivanov has e-mail (pending) and console (sent); petrova only console.
        counts = observe.notifications(s)
        assert counts[("pending", "email")] == 2 and counts[("sent", "console")] == 4
        a, b = _ivanov_email(s, first), _ivanov_email(s, second)
        a.created_at = t - timedelta(minutes=10)
        b.status, b.created_at, b.not_before = "deferred", t - timedelta(hours=3), t + timedelta(hours=1)
    with db.session() as s:
        # The deferred note is older but still inside its quiet hours: it is not late.
        assert observe.notify_oldest_due(s, at=t) == pytest.approx(600, abs=1)
        _ivanov_email(s, second).not_before = t - timedelta(minutes=30)  # quiet hours over half an hour ago
    with db.session() as s:
        assert observe.notify_oldest_due(s, at=t) == pytest.approx(1800, abs=1)
        assert observe.notifications(s)[("deferred", "email")] == 1
        for row in s.query(NotificationRow).filter_by(channel="email"):
            row.status = "sent"
    with db.session() as s:
        assert observe.notify_oldest_due(s) is None


async def test_metrics_and_healthz_show_the_queue(db, people):
    with db.session() as s:
        case_id = world.open_case(s)
        waiting = world.open_case(s)
        _ivanov_email(s, case_id).created_at = now() - timedelta(minutes=5)
        # Written a minute ago: a note written this instant would be due for 0.0 s (rounded).
        _ivanov_email(s, waiting).created_at = now() - timedelta(minutes=1)
    _fail(db, case_id)
    daemon = AppDaemon(db)
    async with TestClient(TestServer(http.build_app(daemon))) as c:
        text = await (await c.get("/metrics")).text()
    got = {(smp.labels.get("status"), smp.labels.get("channel")): smp.value
           for fam in text_string_to_metric_families(text) for smp in fam.samples
           if smp.name == "otklik_notifications"}
    assert got[("failed", "email")] == 1 and got[("pending", "email")] == 1 and got[("sent", "console")] == 4
    lag = [smp.value for fam in text_string_to_metric_families(text) for smp in fam.samples
           if smp.name == "otklik_notifications_oldest_due_seconds"]
    assert lag and 59 < lag[0] < 300  # the failed, older note is not waiting any more
    health = http._pipeline_and_leases(daemon)["notifications"]
    assert health["undelivered"] == 1 and health["failed"] == 1 and 59 < health["oldest_due_seconds"] < 300


def test_retry_puts_a_failed_note_back_for_an_admin_only(db, people):
    with db.session() as s:
        case_id = world.open_case(s)
    note_id = _fail(db, case_id)
    with pytest.raises(access.Refused):
        services.run(db, lambda s: notifications.retry(s, IVANOV, note_id))
    with db.session() as s:
        got = notifications.retry(s, ADMIN, note_id)
    assert got["status"] == "pending" and got["id"] == note_id
    with db.session() as s:
        row = s.get(NotificationRow, note_id)
        assert (row.status, row.attempts, row.not_before) == ("pending", 0, None)
        [entry] = s.query(AuditRow).filter_by(action="notification_retry").all()
        assert (entry.actor, entry.entity_id, entry.data["channel"]) == ("adm", str(note_id), "email")
        assert notifications.failed(s, ADMIN) == []
    # Only a failed note: a pending (or sent) one is refused, so nothing is sent twice from here.
    with pytest.raises(InvalidTransition):
        services.run(db, lambda s: notifications.retry(s, ADMIN, note_id))
    with pytest.raises(NotFound):
        services.run(db, lambda s: notifications.retry(s, ADMIN, 10**9))
    with db.session() as s:  # the relay sees it due again
        from otklik.notify import store

        assert (note_id, "pending") in store.due_for_enqueue(s)


async def test_the_api_retry_and_another_persons_preferences(db, people):
    with db.session() as s:
        case_id = world.open_case(s)
        exe_secret = auth.create_user(s, "exe", "executor", password=PASSWORD, department="dorogi")[2]
    note_id = _fail(db, case_id)

    async def login(c, who, secret):
        r = await c.post("/api/login", json={"login": who, "password": PASSWORD,
                                             "otp": pyotp.TOTP(secret).now() if secret else None})
        assert r.status == 200, await r.text()
        return {"Authorization": f"Bearer {(await r.json())['token']}"}

    async with TestClient(TestServer(http.build_app(AppDaemon(db)))) as c:
        exe = await login(c, "exe", exe_secret)
        adm = await login(c, "adm", people)
        assert (await c.post(f"/api/notifications/{note_id}/retry", headers=exe)).status == 403
        r = await c.post(f"/api/notifications/{note_id}/retry", headers=adm)
        assert r.status == 200 and (await r.json())["status"] == "pending"
        assert (await c.post(f"/api/notifications/{note_id}/retry", headers=adm)).status == 409
        assert (await c.post("/api/notifications/999999999/retry", headers=adm)).status == 404
        assert (await c.post("/api/notifications/abc/retry", headers=adm)).status == 404

        url = "/api/users/ivanov/notifications/preferences"
        assert (await c.get(url, headers=exe)).status == 403
        assert (await c.put(url, json={"digest": False}, headers=exe)).status == 403
        r = await c.put(url, json={"quiet_start": "21:00", "quiet_end": "08:00", "channels": ["email"]}, headers=adm)
        assert r.status == 200, await r.text()
        r = await c.get(url, headers=adm)
        body = await r.json()
        assert (body["login"], body["quiet_start"], body["channels"]) == ("ivanov", "21:00", ["email", "console"])
        assert (await c.put(url, json={"channels": ["fax"]}, headers=adm)).status == 400
        assert (await c.put(url, json={"quiet_start": "21:00", "quiet_end": None}, headers=adm)).status == 409
        assert (await c.get("/api/users/nobody/notifications/preferences", headers=adm)).status == 404
        for odd in ("a%00b", "x" * 300):  # a NUL byte (PostgreSQL refuses it in text) or an over-long name
            assert (await c.get(f"/api/users/{odd}/notifications/preferences", headers=adm)).status in (400, 404)
        # One's own login through this route works for anyone.
        assert (await c.get("/api/users/exe/notifications/preferences", headers=exe)).status == 200
        spec = await (await c.get("/api/openapi.json")).json()
        assert {"/api/notifications/{id}/retry", "/api/users/{login}/notifications/preferences"} <= set(spec["paths"])
    with db.session() as s:
        entry = s.query(AuditRow).filter_by(action="notify_preferences_set", actor="adm").one()
        assert entry.data["quiet_start"] == "21:00"


def test_the_cli_retry(db, people, database_url, tmp_path, mail_config):
    with db.session() as s:
        case_id = world.open_case(s)
        exe_secret = auth.create_user(s, "exe", "executor", password=PASSWORD, department="dorogi")[2]
    note_id = _fail(db, case_id)

    def as_(who: str, secret: str | None):
        env = {**os.environ, "DATABASE_URL": database_url, "OTKLIK_CONFIG": str(mail_config),
               "OTKLIK_SESSION_FILE": str(tmp_path / f"{who}.session")}
        env.pop("OTKLIK_TOKEN", None)

        def cli(*args, command="notify", stdin=None):
            return subprocess.run([sys.executable, "-m", "otklik", command, *args], capture_output=True, text=True,
                                  env=env, timeout=60, input=stdin)
        otp = ["--otp", pyotp.TOTP(secret).now()] if secret else []
        r = cli("--login", who, "--password-stdin", *otp, command="login", stdin=PASSWORD + "\n")
        assert r.returncode == 0, r.stderr
        return cli

    exe, adm = as_("exe", exe_secret), as_("adm", people)
    out = exe("retry", str(note_id))
    assert out.returncode != 0 and "Traceback" not in out.stderr
    out = adm("failed")
    assert out.returncode == 0 and str(note_id) in out.stdout and "550" in out.stdout, out.stderr
    out = adm("retry", str(note_id))
    assert out.returncode == 0 and "снова в очереди" in out.stdout, out.stderr
    out = adm("retry", str(note_id))  # pending now: refused with a message, no traceback
    assert out.returncode != 0 and "Traceback" not in out.stderr
    with db.session() as s:
        assert s.get(NotificationRow, note_id).status == "pending"
