"""The operator's account commands: users add (recovery codes shown once), deactivate, unlock,
revoke, recovery-codes, password; the audit log from the terminal."""

import json
import os
import subprocess
import sys

import pyotp

from otklik.api import auth

PASSWORD = "Sadovaya-yama-42"


def run(database_url, *args, stdin=None):
    env = {**os.environ, "DATABASE_URL": database_url, "OTKLIK_SESSION_FILE": "/nonexistent"}
    return subprocess.run([sys.executable, "-m", "otklik", *args], capture_output=True, text=True, env=env,
                          timeout=60, input=stdin)


def test_operator_commands_and_the_audit_log(db, database_url):
    r = run(database_url, "users", "add", "cur", "--role", "curator")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    password = lines[0].rsplit(": ", 1)[1]
    secret = pyotp.parse_uri(lines[2]).secret
    codes = lines[4].split()
    assert len(codes) == 10
    r = run(database_url, "users", "add", "cur", "--role", "executor")
    assert r.returncode == 2 and "уже есть" in r.stderr and "Traceback" not in r.stderr
    assert auth.login(db, "cur", password, codes[0], address="10.0.0.1").ok
    assert auth.login(db, "cur", password, pyotp.TOTP(secret).now(), address="10.0.0.1").ok
    for _ in range(5):
        assert not auth.login(db, "cur", "wrong-password", address="10.0.0.2").ok
    assert auth.login(db, "cur", password, address="10.0.0.2").retry_after
    assert run(database_url, "users", "unlock", "cur").returncode == 0
    assert not auth.login(db, "cur", password, address="10.0.0.2").retry_after
    r = run(database_url, "users", "recovery-codes", "cur")
    assert r.returncode == 0 and len(r.stdout.splitlines()[1].split()) == 10
    assert not auth.login(db, "cur", password, codes[1], address="10.0.0.3").ok  # the old ones are gone
    r = run(database_url, "users", "password", "cur", stdin="qwertyuiop\n")
    assert r.returncode == 2 and "распространённых" in r.stderr
    assert run(database_url, "users", "password", "cur", stdin="Novy-parol-2026\n").returncode == 0
    r = run(database_url, "users", "deactivate", "cur")
    assert r.returncode == 0 and "завершено сессий: 0" in r.stderr  # the password change ended both
    assert run(database_url, "users", "deactivate", "nobody").returncode == 2
    r = run(database_url, "audit", "list", "--since", "1h", "--entity", "user")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    actions = [row["action"] for row in rows]
    for expected in ("user_created", "login", "recovery_code_used", "login_failed", "login_locked",
                     "login_unlocked", "recovery_codes_issued", "password_reset", "user_deactivated"):
        assert expected in actions, expected
    text = r.stdout
    assert password not in text and "wrong-password" not in text and secret not in text
    assert not any(code in text for code in codes)
    assert rows[-1]["actor"].startswith("shell:")
    assert run(database_url, "audit", "list", "--since", "yesterday").returncode == 2
