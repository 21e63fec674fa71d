"""Guessing is slow and blind: lockouts per (login, address) with growing delays, per address, a
per-login slow-down that spares known addresses; the same answer for every kind of failure."""

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from otklik import http
from otklik.accounts import throttle
from otklik.accounts.sessions import Lifetimes
from otklik.api import auth
from storage.tables import AuditRow
from tests.otklik.doubles import AppDaemon

PASSWORD = "Sadovaya-yama-42"
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
LIFE = Lifetimes(idle=timedelta(minutes=30), absolute=timedelta(hours=12))


def make(db, login, role):
    with db.session() as s:
        return auth.create_user_full(s, login, role, password=PASSWORD, at=T0)


def attempt(db, login, password=PASSWORD, otp=None, *, at, address="10.0.0.1"):
    return auth.login(db, login, password, otp, address=address, at=at, lifetimes=LIFE)


def audit_rows(db, action):
    with db.session() as s:
        return s.execute(select(AuditRow).where(AuditRow.action == action)).scalars().all()


def test_pair_lockout_grows_binds_only_that_address_and_an_admin_lifts_it(db):
    make(db, "exe", "executor")
    at = T0
    for _ in range(throttle.PAIR_FREE):
        at += timedelta(seconds=1)
        r = attempt(db, "exe", "wrong-password", at=at)
        assert not r.ok and r.retry_after is None
    # Locked for a minute: even the right password is refused, without being checked.
    r = attempt(db, "exe", at=at + timedelta(seconds=10))
    assert not r.ok and 40 <= r.retry_after <= 60
    assert attempt(db, "exe", at=at + timedelta(seconds=10), address="10.0.0.2").ok  # another desk
    # After the minute, one more wrong guess: now two minutes.
    at += timedelta(seconds=61)
    assert attempt(db, "exe", "wrong-again-1", at=at).retry_after is None
    assert 110 <= attempt(db, "exe", at=at + timedelta(seconds=1)).retry_after <= 120
    lock = audit_rows(db, "login_locked")
    assert [row.data["seconds"] for row in lock] == [60, 120]
    assert lock[0].data["login"] == "exe" and lock[0].data["address"] == "10.0.0.1"
    with db.session() as s:
        assert [p["address"] for p in throttle.locked_pairs(s, "exe", at + timedelta(seconds=2))] == ["10.0.0.1"]
        auth.unlock(s, "exe", by="shell:test", at=at + timedelta(seconds=2))
    assert attempt(db, "exe", at=at + timedelta(seconds=3)).ok
    assert audit_rows(db, "login_unlocked")


def test_delay_is_capped_so_no_lockout_is_for_good():
    assert throttle.pair_delay(4) == timedelta(0)
    assert throttle.pair_delay(5) == timedelta(minutes=1)
    assert throttle.pair_delay(7) == timedelta(minutes=4)
    assert throttle.pair_delay(60) == throttle.PAIR_MAX_DELAY


def test_an_address_spraying_many_logins_is_stopped(db):
    make(db, "exe", "executor")
    at = T0
    for i in range(throttle.ADDRESS_LIMIT):
        at += timedelta(seconds=1)
        assert attempt(db, f"guess{i}", "Password-123", at=at, address="203.0.113.9").retry_after is None
    r = attempt(db, "exe", at=at + timedelta(seconds=1), address="203.0.113.9")
    assert not r.ok and r.retry_after > 0
    assert attempt(db, "exe", at=at + timedelta(seconds=1), address="10.0.0.1").ok


def test_many_addresses_guessing_the_head_slow_strangers_but_not_the_heads_desk(db):
    made = make(db, "head", "head")
    secret = made.totp_secret
    assert attempt(db, "head", otp=pyotp.TOTP(secret).at(T0), at=T0, address="10.1.1.1").ok  # their desk
    at = T0
    for i in range(throttle.LOGIN_SLOW):
        at += timedelta(seconds=2)
        attempt(db, "head", f"guess-{i}-xxxx", at=at, address=f"198.51.100.{i}")
    stranger = attempt(db, "head", "guess-again-xxxx", at=at + timedelta(seconds=1), address="198.51.100.250")
    assert not stranger.ok and stranger.retry_after > 0
    code = pyotp.TOTP(secret).at(at + timedelta(seconds=1))
    assert attempt(db, "head", otp=code, at=at + timedelta(seconds=1), address="10.1.1.1").ok
    # Strangers get one try a minute: slowed, never locked out for good.
    later = at + throttle.LOGIN_SLOW_GAP + timedelta(seconds=2)
    assert attempt(db, "head", "one-more-guess", at=later, address="198.51.100.251").retry_after is None


def test_unknown_logins_are_throttled_like_known_ones(db):
    at = T0
    for _ in range(throttle.PAIR_FREE):
        at += timedelta(seconds=1)
        attempt(db, "nobody", "whatever-pass", at=at)
    assert attempt(db, "nobody", "whatever-pass", at=at + timedelta(seconds=1)).retry_after > 0


def test_every_kind_of_failure_gets_the_same_result(db):
    made = make(db, "cur", "curator")
    make(db, "gone", "executor")
    with db.session() as s:
        auth.deactivate(s, "gone", by="shell:test")
    at = T0
    results = []
    for login, password, otp in (("nobody", PASSWORD, None), ("cur", "wrong-password", None),
                                 ("cur", PASSWORD, None), ("cur", PASSWORD, "000000"), ("gone", PASSWORD, None),
                                 ("cur", "wrong-password", pyotp.TOTP(made.totp_secret).at(T0))):
        at += timedelta(seconds=1)
        results.append(attempt(db, login, password, otp, at=at, address=f"10.9.9.{len(results)}"))
    assert all(r == auth.LoginResult(False) for r in results)
    reasons = [row.data["reason"] for row in audit_rows(db, "login_failed")]
    assert reasons == ["unknown_login", "password", "code", "code", "inactive", "password"]
    # A wrong password did not use up the (right) code.
    assert attempt(db, "cur", otp=pyotp.TOTP(made.totp_secret).at(T0), at=at + timedelta(seconds=1)).ok


def test_the_attempted_login_is_stored_printable_and_short(db):
    attempt(db, "x" * 500 + "\x1b[31m", "pw-pw-pw-pw", at=T0)
    row = audit_rows(db, "login_failed")[0]
    assert len(row.data["login"]) == 64 and "\x1b" not in row.data["login"]
    assert "pw-pw-pw-pw" not in str(row.data)


@pytest.fixture
async def api(db):
    with db.session() as s:
        cur = auth.create_user_full(s, "cur", "curator", password=PASSWORD)
        boss = auth.create_user_full(s, "boss", "admin", password=PASSWORD)
        auth.create_user_full(s, "exe", "executor", password=PASSWORD)
    async with TestClient(TestServer(http.build_app(AppDaemon(db)))) as c:
        c.secrets = {"cur": cur.totp_secret, "boss": boss.totp_secret}
        yield c


async def test_api_failures_look_alike_and_lockout_is_lifted_by_an_admin(api):
    answers = []
    for body in ({"login": "nobody", "password": PASSWORD}, {"login": "cur", "password": "wrong-password"},
                 {"login": "cur", "password": PASSWORD}, {"login": "cur", "password": PASSWORD, "otp": "123456"}):
        r = await api.post("/api/login", json=body)
        answers.append((r.status, await r.text()))
    assert answers == [(401, '{"error": "wrong login, password or code"}')] * 4
    for _ in range(throttle.PAIR_FREE - 3):  # cur has failed three times above
        r = await api.post("/api/login", json={"login": "cur", "password": "again-wrong"})
        assert r.status == 401
    r = await api.post("/api/login", json={"login": "cur", "password": PASSWORD,
                                           "otp": pyotp.TOTP(api.secrets["cur"]).now()})
    assert r.status == 429 and int(r.headers["Retry-After"]) > 0
    boss = await api.post("/api/login", json={"login": "boss", "password": PASSWORD,
                                              "otp": pyotp.TOTP(api.secrets["boss"]).now()})
    assert boss.status == 200
    headers = {"Authorization": f"Bearer {(await boss.json())['token']}"}
    exe = await api.post("/api/login", json={"login": "exe", "password": PASSWORD})
    exe_headers = {"Authorization": f"Bearer {(await exe.json())['token']}"}
    assert (await api.post("/api/users/cur/unlock", headers=exe_headers)).status == 403
    assert (await api.post("/api/users/cur/unlock", headers=headers)).status == 200
    r = await api.post("/api/login", json={"login": "cur", "password": PASSWORD,
                                           "otp": pyotp.TOTP(api.secrets["cur"]).now()})
    assert r.status == 200
    assert (await api.get("/api/audit", headers=exe_headers)).status == 403
    r = await api.get("/api/audit", headers=headers, params={"entity": "user", "actor": "cur"})
    acts = [a["action"] for a in (await r.json())["audit"]]
    assert "login" in acts and "login_failed" in acts
    r = await api.get("/api/audit", headers=headers, params={"since": "not a time"})
    assert r.status == 400


async def test_api_sessions_logout_step_up_password_and_deactivate(api):
    r = await api.post("/api/login", json={"login": "cur", "password": PASSWORD,
                                           "otp": pyotp.TOTP(api.secrets["cur"]).now()})
    body = await r.json()
    assert body["second_factor_at"] and body["expires_at"]
    cur = {"Authorization": f"Bearer {body['token']}"}
    r = await api.post("/api/step-up", headers=cur, json={"otp": pyotp.TOTP(api.secrets["cur"]).now()})
    assert r.status == 401  # the code was used at login
    assert (await api.post("/api/step-up", headers=cur, json={})).status == 400
    r = await api.post("/api/password", headers=cur, json={"old_password": PASSWORD, "new_password": "short"})
    assert r.status == 400 and (await r.json())["error"] == "weak password"
    r = await api.post("/api/password", headers=cur, json={"old_password": "nope-nope-nope",
                                                           "new_password": "Novy-parol-2026"})
    assert r.status == 403
    assert (await api.get("/api/sessions", headers=cur)).status == 200
    assert (await api.post("/api/logout", headers=cur)).status == 200
    assert (await api.get("/api/cases", headers=cur)).status == 401
    exe = await api.post("/api/login", json={"login": "exe", "password": PASSWORD})
    exe_headers = {"Authorization": f"Bearer {(await exe.json())['token']}"}
    assert (await api.get("/api/cases", headers=exe_headers)).status == 200
    boss = await api.post("/api/login", json={"login": "boss", "password": PASSWORD,
                                              "otp": pyotp.TOTP(api.secrets["boss"]).now()})
    boss_headers = {"Authorization": f"Bearer {(await boss.json())['token']}"}
    r = await api.post("/api/users/exe/deactivate", headers=boss_headers)
    assert r.status == 200 and (await r.json())["sessions_ended"] == 1
    assert (await api.get("/api/cases", headers=exe_headers)).status == 401
    assert (await api.post("/api/users/nobody/deactivate", headers=boss_headers)).status == 404
    r = await api.post("/api/sessions/revoke-all", headers=boss_headers)
    assert (await r.json())["revoked"] == 1
    assert (await api.get("/api/sessions", headers=boss_headers)).status == 401
