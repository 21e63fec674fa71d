"""Sessions hold only as long as they should; second factors count once; TOTP secrets are sealed."""

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select, text

from otklik.accounts import sessions as session_store
from otklik.accounts.secretbox import SecretBox, SecretKeyError
from otklik.api import auth
from storage.tables import AuditRow, SessionRow, UserRow

PASSWORD = "Sadovaya-yama-42"
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

LIFE = session_store.Lifetimes(idle=timedelta(minutes=30), absolute=timedelta(hours=12))


def code_at(secret: str, at: datetime) -> str:
    return pyotp.TOTP(secret).at(at)


def make(db, login="exe", role="executor"):
    with db.session() as s:
        made = auth.create_user_full(s, login, role, password=PASSWORD, department="dorogi", at=T0)
    return made


def login(db, name="exe", otp=None, at=T0, address="10.0.0.1"):
    return auth.login(db, name, PASSWORD, otp, address=address, at=at, lifetimes=LIFE)


def resolve(db, token, at):
    with db.session() as s:
        return auth.resolve(s, token, at=at)


def actions(db):
    with db.session() as s:
        return [a.action for a in s.execute(select(AuditRow).order_by(AuditRow.id)).scalars()]


def test_idle_lifetime_ends_a_quiet_session_and_use_keeps_it(db):
    make(db)
    r = login(db)
    assert r.ok and r.actor.login == "exe" and r.actor.second_factor_at is None
    actor = resolve(db, r.token, T0 + timedelta(minutes=29))
    assert actor is not None and actor.session_id == r.actor.session_id and actor.via == "api"
    # That request counted as use: the session lives 30 minutes from it.
    assert resolve(db, r.token, T0 + timedelta(minutes=58)) is not None
    assert resolve(db, r.token, T0 + timedelta(minutes=58 + 31)) is None
    assert resolve(db, "not-a-token", T0) is None


def test_absolute_lifetime_ends_even_a_busy_session(db):
    make(db)
    r = login(db)
    at = T0
    while at < T0 + timedelta(hours=12) - timedelta(minutes=20):
        at += timedelta(minutes=20)
        assert resolve(db, r.token, at) is not None
    assert resolve(db, r.token, T0 + timedelta(hours=12, seconds=1)) is None


def test_touch_writes_last_seen_at_most_once_a_minute(db):
    make(db)
    r = login(db)
    resolve(db, r.token, T0 + timedelta(seconds=30))
    with db.session() as s:
        assert s.get(SessionRow, r.actor.session_id).last_seen_at == T0
    resolve(db, r.token, T0 + timedelta(seconds=90))
    with db.session() as s:
        assert s.get(SessionRow, r.actor.session_id).last_seen_at == T0 + timedelta(seconds=90)


def test_logout_revoke_all_admin_revoke_and_deactivate(db):
    make(db)
    make(db, "boss", "admin")
    a, b, c = login(db), login(db, at=T0 + timedelta(seconds=1)), login(db, at=T0 + timedelta(seconds=2))
    at = T0 + timedelta(minutes=1)
    with db.session() as s:
        auth.logout(s, resolve(db, a.token, at), at=at)
    assert resolve(db, a.token, at) is None and resolve(db, b.token, at) is not None
    with db.session() as s:
        assert auth.revoke_own_sessions(s, resolve(db, b.token, at), keep_current=True, at=at) == 1
    assert resolve(db, b.token, at) is not None and resolve(db, c.token, at) is None
    exe = resolve(db, b.token, at)
    with db.session() as s, pytest.raises(auth.PermissionDenied):
        auth.revoke_sessions_of(s, "boss", by=exe)  # not an admin
    d = login(db, at=at)
    with db.session() as s:
        assert auth.deactivate(s, "exe", by="shell:test", at=at) == 2
    assert resolve(db, b.token, at) is None and resolve(db, d.token, at) is None
    assert not login(db, at=at + timedelta(seconds=5)).ok  # and no new one
    assert {"logout", "sessions_revoked", "user_deactivated", "login_failed"} <= set(actions(db))


def test_a_totp_code_logs_in_once_and_no_older_one_after_it(db):
    made = make(db, "cur", "curator")
    secret = made.totp_secret
    assert not login(db, "cur", None).ok  # the password alone is not enough
    assert login(db, "cur", code_at(secret, T0), at=T0).ok
    assert not login(db, "cur", code_at(secret, T0), at=T0 + timedelta(seconds=5)).ok  # replay
    # The previous step's code is within the clock-drift window, but older than the one used.
    assert not login(db, "cur", code_at(secret, T0 - timedelta(seconds=30)), at=T0 + timedelta(seconds=10)).ok
    r = login(db, "cur", code_at(secret, T0 + timedelta(seconds=30)), at=T0 + timedelta(seconds=31))
    assert r.ok and r.actor.second_factor_at == T0 + timedelta(seconds=31)


def test_step_up_sets_the_sessions_second_factor_time(db):
    made = make(db, "cur", "curator")
    r = login(db, "cur", code_at(made.totp_secret, T0))
    later = T0 + timedelta(minutes=10)
    actor = resolve(db, r.token, later)
    with db.session() as s:
        assert auth.step_up(s, actor, code_at(made.totp_secret, T0), at=later) is None  # used already
    with db.session() as s:
        assert auth.step_up(s, actor, code_at(made.totp_secret, later), at=later) == later
    assert resolve(db, r.token, later).second_factor_at == later
    assert actions(db).count("step_up") == 1 and "step_up_failed" in actions(db)


def test_a_recovery_code_stands_in_once(db):
    made = make(db, "head", "head")
    assert len(made.recovery_codes) == 10 and len(set(made.recovery_codes)) == 10
    code = made.recovery_codes[3]
    r = login(db, "head", code.upper())  # typed in capitals: still the code
    assert r.ok and r.actor.second_factor_at == T0
    assert not login(db, "head", code, at=T0 + timedelta(seconds=1)).ok
    assert login(db, "head", made.recovery_codes[4], at=T0 + timedelta(seconds=2)).ok
    with db.session() as s:
        rows = s.execute(select(AuditRow).where(AuditRow.action == "recovery_code_used")).scalars().all()
        assert [row.data["left"] for row in rows] == [9, 8]
        codes = auth.regenerate_recovery_codes(s, "head", by="shell:test")
    assert not login(db, "head", made.recovery_codes[5], at=T0 + timedelta(seconds=3)).ok  # replaced
    assert login(db, "head", codes[0], at=T0 + timedelta(seconds=4)).ok


def test_totp_secret_is_encrypted_at_rest(db, _secret_key):
    made = make(db, "cur", "curator")
    with db.engine.connect() as conn:
        raw = conn.execute(text("SELECT totp_secret FROM users WHERE login = 'cur'")).scalar()
        codes = conn.execute(text("SELECT code_hash FROM recovery_codes")).scalars().all()
    assert made.totp_secret not in raw and raw.startswith("fernet:")
    assert not set(made.recovery_codes) & set(codes)
    assert SecretBox(_secret_key.encode()).open(raw) == made.totp_secret
    from cryptography.fernet import Fernet
    with pytest.raises(SecretKeyError):
        SecretBox(Fernet.generate_key()).open(raw)


def test_a_secret_stored_before_encryption_is_sealed_on_use(db):
    made = make(db, "cur", "curator")
    with db.session() as s:
        s.execute(select(UserRow)).scalars().first().totp_secret = made.totp_secret  # as 0001 stored it
    assert login(db, "cur", code_at(made.totp_secret, T0)).ok
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT totp_secret FROM users")).scalar().startswith("fernet:")


def test_generated_key_file_is_private(tmp_path, monkeypatch, caplog):
    from otklik.accounts.secretbox import resolve_key

    key = resolve_key(env_key=None, secrets_dir=None, var_dir=tmp_path)
    path = tmp_path / "secret_key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert resolve_key(env_key=None, secrets_dir=None, var_dir=tmp_path) == key  # found next time
    assert key.decode() not in caplog.text and "generated one" in caplog.text
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "secret_key").write_text("from-the-secrets-dir\n")
    assert resolve_key(env_key=None, secrets_dir=tmp_path / "secrets", var_dir=tmp_path) == b"from-the-secrets-dir"


def test_password_rules_and_change(db):
    make(db)
    for bad in ("short-1", "1234567890", "qwertyuiop", "my-exe-password", "aaaaaaaaaaaa"):
        with pytest.raises(auth.PasswordRejected):
            auth.check_password_rules(bad, "exe")
    with db.session() as s, pytest.raises(auth.PasswordRejected):
        auth.create_user_full(s, "weak", "executor", password="password123")
    r, other = login(db), login(db, at=T0 + timedelta(seconds=1))
    at = T0 + timedelta(minutes=1)
    with db.session() as s:
        assert auth.change_password(s, resolve(db, r.token, at), "wrong-old-password", "Novy-parol-2026") is None
    with db.session() as s, pytest.raises(auth.PasswordRejected):
        auth.change_password(s, resolve(db, r.token, at), PASSWORD, "exe-exe-exe-1")
    with db.session() as s:
        assert auth.change_password(s, resolve(db, r.token, at), PASSWORD, "Novy-parol-2026", at=at) == 1
    assert resolve(db, r.token, at) is not None and resolve(db, other.token, at) is None
    assert not login(db, at=at).ok
    assert auth.login(db, "exe", "Novy-parol-2026", address="10.0.0.1", at=at, lifetimes=LIFE).ok
    assert {"password_change_failed", "password_changed"} <= set(actions(db))
    # Guessing the old password through a session is throttled too.
    r = auth.login(db, "exe", "Novy-parol-2026", address="10.0.0.1", at=at, lifetimes=LIFE)
    for i in range(5):
        with db.session() as s:
            assert auth.change_password(s, resolve(db, r.token, at), f"guess-{i}-guess", "Ещё-новый-2026", at=at) is None
    with db.session() as s, pytest.raises(auth.PermissionDenied):
        auth.change_password(s, resolve(db, r.token, at), "Novy-parol-2026", "Ещё-новый-2026", at=at)


def test_migration_from_0001_keeps_users_and_ends_old_tokens(database_url):
    from storage.db import Database
    from storage.migrate import current, upgrade

    db = Database.connect(database_url, migrate=False)
    upgrade(db.engine, "0001")
    secret = pyotp.random_base32()
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO users (login, role, password_hash, totp_secret, token_hash, active, created_at) "
                          "VALUES ('cur', 'curator', :h, :s, 'old-token-hash', :t, :c)"),
                     {"h": auth.hash_password(PASSWORD), "s": secret, "t": True, "c": T0})
    upgrade(db.engine, "0002_auth")  # this migration, whatever comes after it
    assert current(db.engine) == "0002_auth"
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT token_hash FROM users")).scalar() is None
    upgrade(db.engine)  # the later migrations' columns, which the login reads
    assert login(db, "cur", code_at(secret, T0)).ok
    db.dispose()
