"""A citizen writes to MAX in a dialog, in a group chat and under a channel post; each message goes
the whole way — a real daemon and a real RQ worker (child processes), a real database and Redis, the
MAX emulator — and each answer appears in its own thread, as a reply to the citizen's message."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pyotp
import pytest
from cryptography.fernet import Fernet

from otklik.api import auth
from otklik.demo.run import free_port
from sandbox.max.emulator import CHANNEL, GROUP, MaxEmulator
from sandbox.runner import serving
from storage.db import Database

PASSWORD = "Lenina-fonari-7"


def wait_for(predicate, timeout: float = 60.0, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not reached in time")


def _up(api: str) -> bool:
    try:
        return httpx.get(f"{api}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def secret_key(monkeypatch):
    """The key that seals the TOTP secrets, shared with the children (as tests/otklik does)."""
    monkeypatch.setenv("OTKLIK_SECRET_KEY", Fernet.generate_key().decode())


@pytest.fixture
def stack(tmp_path: Path, database_url: str, redis_url: str, secret_key):
    emulator = MaxEmulator(seed=5, long_poll_cap=0.5)
    with serving(emulator) as mx:
        port = free_port()
        config = tmp_path / "otklik.toml"
        config.write_text(f'profile = "severny"\nhttp_port = {port}\nrelay_interval = 0.2\n\n'
                          f'[[sources]]\nname = "max"\nplatform = "max"\nbase_url = "{mx.url}"\n'
                          f'poll_interval = 0.3\n[sources.options]\npoll_timeout = 1\n', encoding="utf-8")
        env = {**os.environ, "OTKLIK_CONFIG": str(config), "OTKLIK_VAR_DIR": str(tmp_path),
               "DATABASE_URL": database_url, "REDIS_URL": redis_url}
        for key, value in emulator.demo_secrets().items():
            env[f"OTKLIK_SECRET_MAX_{key.upper()}"] = value
        db = Database.connect(database_url)
        with db.session() as s:
            totp = {}
            for login, role in (("cur", "curator"), ("exe", "executor"), ("head", "approver")):
                totp[login] = auth.create_user(s, login, role, password=PASSWORD,
                                               department="zhkh" if role == "executor" else None)[2]
        logs = tmp_path / "children.log"
        with logs.open("wb") as out:
            procs = [subprocess.Popen([sys.executable, "-m", "otklik", *cmd], env=env, stdout=out,
                                      stderr=subprocess.STDOUT) for cmd in (["run"], ["worker"])]
            api = f"http://127.0.0.1:{port}"
            try:
                try:
                    wait_for(lambda: _up(api), 120)  # six test suites share two cores
                except AssertionError:
                    raise AssertionError(logs.read_text(encoding="utf-8", errors="replace")[-3000:]) from None
                yield {"mx": mx, "emulator": emulator, "api": api, "totp": totp, "logs": logs}
            finally:
                for p in procs:
                    p.terminate()
                for p in procs:
                    try:
                        p.wait(30)
                    except subprocess.TimeoutExpired:
                        p.kill()
        db.dispose()


def login(api: str, user: str, otp: str | None = None) -> dict:
    r = httpx.post(f"{api}/api/login", json={"login": user, "password": PASSWORD, "otp": otp})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_dialog_chat_and_comment_answered_in_their_threads(stack):
    api, mx, emulator = stack["api"], stack["mx"], stack["emulator"]
    written = {
        "dialog": mx.call(emulator.inject, {"text": "Добрый день! В доме 4 по улице Мира нет горячей воды.",
                                            "author_id": 401}),
        "chat": mx.call(emulator.inject, {"text": "Во дворе дома 9 на Садовой прорвало трубу, течёт вода.",
                                          "chat": "chat", "author_id": 402}),
        "comment": mx.call(emulator.inject, {"text": "В подъезде дома 2 на Лесной не работает лифт.",
                                             "chat": "channel_comment", "author_id": 403}),
    }
    cur = login(api, "cur", pyotp.TOTP(stack["totp"]["cur"]).now())
    cases = wait_for(lambda: len(c := httpx.get(f"{api}/api/cases", headers=cur).json()["cases"]) == 3 and c, 90)
    exe = login(api, "exe")
    head = login(api, "head", pyotp.TOTP(stack["totp"]["head"]).now())
    for case in cases:
        if case["executors"] != ["zhkh"]:
            r = httpx.post(f"{api}/api/cases/{case['id']}/route", headers=cur, json={"executors": ["zhkh"]})
            assert r.status_code == 200, r.text
        r = httpx.post(f"{api}/api/cases/{case['id']}/drafts", headers=exe,
                       json={"text": f"Здравствуйте! Заявка {case['id']} передана аварийной службе."})
        assert r.status_code == 201, r.text
        r = httpx.post(f"{api}/api/cases/{case['id']}/approve", headers=head)
        assert r.status_code == 200, r.text
    replies = wait_for(lambda: len(r := mx.call(lambda: list(emulator.replies))) == 3 and r, 90)
    by_target = {r["reply_to"]: r for r in replies}
    assert set(by_target) == {w["mid"] for w in written.values()}  # each answer replies to its question
    assert by_target[written["dialog"]["mid"]]["chat_type"] == "dialog"
    assert by_target[written["chat"]["mid"]]["chat_id"] == GROUP["chat_id"]
    comment_reply = by_target[written["comment"]["mid"]]
    assert comment_reply["chat_type"] == "comment" and comment_reply["post_id"] == written["comment"]["post_id"]
    assert comment_reply["chat_id"] == CHANNEL["chat_id"]
    # The bot's own answer in the group chat came back as an update and did not become a case.
    time.sleep(1.5)
    assert len(httpx.get(f"{api}/api/cases", headers=cur).json()["cases"]) == 3
