"""One citizen message through the whole way, on a real database, a real Redis, a real daemon
and a real RQ worker (child processes), against the Telegram emulator."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pyotp
import pytest

from otklik.api import auth
from otklik.demo.run import free_port
from sandbox.registry import emulator_class
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


@pytest.fixture
def stack(tmp_path: Path, database_url: str, redis_url: str):
    emulator = emulator_class("telegram")(seed=3)
    with serving(emulator) as tg:
        port = free_port()
        config = tmp_path / "otklik.toml"
        config.write_text(f'profile = "severny"\nhttp_port = {port}\nrelay_interval = 0.2\n\n'
                          f'[[sources]]\nname = "tg"\nplatform = "telegram"\nbase_url = "{tg.url}"\n'
                          f'poll_interval = 0.3\n', encoding="utf-8")
        env = {**os.environ, "OTKLIK_CONFIG": str(config), "OTKLIK_VAR_DIR": str(tmp_path),
               "DATABASE_URL": database_url, "REDIS_URL": redis_url}
        for key, value in emulator.demo_secrets().items():
            env[f"OTKLIK_SECRET_TG_{key.upper()}"] = value
        db = Database.connect(database_url)
        with db.session() as s:
            totp = {}  # the plain secrets: the table holds them sealed with OTKLIK_SECRET_KEY
            for login, role in (("cur", "curator"), ("exe", "executor"), ("head", "approver")):
                totp[login] = auth.create_user(s, login, role, password=PASSWORD,
                                               department="zhkh" if role == "executor" else None)[2]
        logs = tmp_path / "children.log"
        with logs.open("wb") as out:
            procs = [subprocess.Popen([sys.executable, "-m", "otklik", *cmd], env=env, stdout=out,
                                      stderr=subprocess.STDOUT) for cmd in (["run"], ["worker"])]
            api = f"http://127.0.0.1:{port}"
            try:
                wait_for(lambda: _up(api), 30)
                yield {"tg": tg, "emulator": emulator, "api": api, "db": db, "totp": totp}
            finally:
                for p in procs:
                    p.terminate()
                for p in procs:
                    _stop(p, logs)
        db.dispose()


def _stop(proc: subprocess.Popen, logs: Path) -> None:
    """Wait for a child told to stop. An rq worker finishes the job in hand first (warm shutdown);
    a second SIGTERM, as an operator or systemd sends, makes it drop the job (its outbox lease
    brings the reply back). Still running after that is a hang: fail with the children's log."""
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            tail = logs.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise AssertionError(f"{proc.args} ignored two SIGTERMs; its log ends:\n{tail}") from None


def _up(api: str) -> bool:
    try:
        return httpx.get(f"{api}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def token(api: str, login: str, otp: str | None = None) -> dict:
    r = httpx.post(f"{api}/api/login", json={"login": login, "password": PASSWORD, "otp": otp})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_message_to_published_reply(stack):
    api, tg = stack["api"], stack["tg"]
    created = tg.call(stack["emulator"].inject, {"text": "Добрый день! На улице Ленина не горят фонари уже неделю."})
    cur = token(api, "cur", pyotp.TOTP(stack["totp"]["cur"]).now())
    case = wait_for(lambda: httpx.get(f"{api}/api/cases", headers=cur).json()["cases"], 60)[0]
    assert case["topic_group"] and case["answer_by"]
    if case["executors"] != ["zhkh"]:  # the router was unsure or chose another: the curator routes to housing
        r = httpx.post(f"{api}/api/cases/{case['id']}/route", headers=cur, json={"executors": ["zhkh"]})
        assert r.status_code == 200, r.text
    exe = token(api, "exe")
    answer = "Здравствуйте! Спасибо за сигнал: фонари на улице Ленина починят до конца недели."
    r = httpx.post(f"{api}/api/cases/{case['id']}/drafts", headers=exe, json={"text": answer})
    assert r.status_code == 201, r.text
    # Nothing is posted before approval.
    time.sleep(1.0)
    assert tg.call(lambda: list(stack["emulator"].replies)) == []
    # An approver without the one-time code cannot even log in.
    assert httpx.post(f"{api}/api/login", json={"login": "head", "password": PASSWORD}).status_code == 401
    head = token(api, "head", pyotp.TOTP(stack["totp"]["head"]).now())
    r = httpx.post(f"{api}/api/cases/{case['id']}/approve", headers=head)
    assert r.status_code == 200, r.text
    replies = wait_for(lambda: tg.call(lambda: list(stack["emulator"].replies)), 60)
    assert len(replies) == 1
    assert replies[0]["text"] == answer
    assert replies[0]["reply_to"] == f"{created['chat_id']}:{created['message_id']}"
    shown = wait_for(lambda: (c := httpx.get(f"{api}/api/cases/{case['id']}", headers=cur).json())["state"]
                     == "published" and c, 30)
    assert shown["state"] == "published"
