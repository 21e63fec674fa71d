"""Linking one's chat with the staff bot from the API and the CLI, end to end against the Telegram
emulator: POST /api/me/staff-bot/link gives a code, `/start CODE` in the emulator is read by the
bot poller, GET /api/me/staff-bot says linked, DELETE unlinks; `otklik notify link max` does the
same from a terminal; `otklik config check` validates `[staff_bot]`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest
from aiohttp.test_utils import TestClient, TestServer

from otklik import http
from otklik.api import auth
from otklik.settings import Settings
from otklik.staffbot import commands
from otklik.staffbot.bots import TelegramStaffBot
from otklik.staffbot.config import StaffBotSettings
from otklik.staffbot.poller import StaffBotPoller
from sandbox.runner import serving
from sandbox.telegram.emulator import TelegramEmulator
from sandbox.telegram.staff import STAFF_TOKEN
from tests.otklik.doubles import AppDaemon
from tests.otklik.test_cases_cli import PASSWORD, cli, login


def staff_settings(**kw) -> StaffBotSettings:
    return StaffBotSettings(**{"telegram": True, "telegram_token": "env:TEST_STAFF_TG", "telegram_username":
                               "otklik_staff_bot", **kw})


@pytest.fixture
async def client(db, monkeypatch):
    monkeypatch.setenv("TEST_STAFF_TG", STAFF_TOKEN)
    with db.session() as s:
        auth.create_user(s, "exe", "executor", password=PASSWORD)
    daemon = AppDaemon(db)
    daemon.settings = Settings(staff_bot=staff_settings())
    async with TestClient(TestServer(http.build_app(daemon))) as c:
        r = await c.post("/api/login", json={"login": "exe", "password": PASSWORD})
        c.auth = {"Authorization": f"Bearer {(await r.json())['token']}"}
        yield c


async def test_link_through_the_api_and_the_bot_then_unlink(client, db):
    assert (await client.post("/api/me/staff-bot/link?platform=telegram")).status == 401
    r = await client.get("/api/me/staff-bot", headers=client.auth)
    assert r.status == 200 and (await r.json())["platforms"] == [
        {"platform": "telegram", "name": "Telegram", "linked": False, "linked_at": None}]
    r = await client.post("/api/me/staff-bot/link?platform=telegram", headers=client.auth)
    assert r.status == 201 and r.headers["Cache-Control"] == "no-store"
    issued = await r.json()
    assert issued["instruction"] == f"Откройте бота и отправьте /start {issued['code']}"
    assert issued["bot_url"] == f"https://t.me/otklik_staff_bot?start={issued['code']}"

    emulator = TelegramEmulator(long_poll_cap=0.2)
    with serving(emulator) as server:
        server.call(emulator.staff.write, 4242, f"/start {issued['code']}")
        async with httpx.AsyncClient() as h:
            await StaffBotPoller(db, "telegram", TelegramStaffBot(h, STAFF_TOKEN, server.url), wait=0).step()
        assert [m["plain"] for m in server.call(emulator.staff.sent_to, 4242)] == [commands.LINKED]

    (row,) = (await (await client.get("/api/me/staff-bot", headers=client.auth)).json())["platforms"]
    assert row["linked"] is True and row["linked_at"] and "4242" not in json.dumps(row)
    r = await client.delete("/api/me/staff-bot/link?platform=telegram", headers=client.auth)
    assert r.status == 200 and (await r.json())["unlinked"] is True
    (row,) = (await (await client.get("/api/me/staff-bot", headers=client.auth)).json())["platforms"]
    assert row["linked"] is False


async def test_bad_platforms_are_4xx(client):
    r = await client.post("/api/me/staff-bot/link?platform=vk", headers=client.auth)
    assert r.status == 400
    r = await client.post("/api/me/staff-bot/link", headers=client.auth)
    assert r.status == 400
    r = await client.post("/api/me/staff-bot/link?platform=max", headers=client.auth)  # off in [staff_bot]
    assert r.status == 409 and "MAX не настроен" in (await r.json())["error"]
    spec = await (await client.get("/api/openapi.json")).json()
    assert {"/api/me/staff-bot", "/api/me/staff-bot/link"} <= set(spec["paths"])


def test_link_from_the_terminal(db, database_url, tmp_path, monkeypatch):
    with db.session() as s:
        auth.create_user(s, "exe", "executor", password=PASSWORD)
    config = tmp_path / "otklik.toml"
    config.write_text('[staff_bot]\nmax = true\nmax_token = "env:TEST_STAFF_MAX"\nmax_username = "adm_staff_bot"\n',
                      encoding="utf-8")
    monkeypatch.setenv("OTKLIK_CONFIG", str(config))
    session = login(database_url, tmp_path, "exe")
    r = cli(database_url, "link", "max", session_file=session, command="notify")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("Откройте бота и отправьте /start ") and "15 минут" in lines[1]
    code = lines[0].rsplit(" ", 1)[1]
    assert lines[2] == f"Или откройте ссылку: https://max.ru/adm_staff_bot?start={code}"
    r = cli(database_url, "link", "telegram", session_file=session, command="notify")
    assert r.returncode == 2 and "Telegram не настроен" in r.stderr
    r = cli(database_url, "bot", session_file=session, command="notify")
    assert r.returncode == 0 and r.stdout.strip() == "MAX: не привязан"
    r = cli(database_url, "unlink", "max", session_file=session, command="notify")
    assert r.returncode == 0 and r.stdout.strip() == "Чат в MAX не был привязан."


def _config_check(tmp_path, text: str, **env) -> subprocess.CompletedProcess:
    path = tmp_path / "otklik.toml"
    path.write_text(text, encoding="utf-8")
    full = {**os.environ, "OTKLIK_CONFIG": str(path), "OTKLIK_VAR_DIR": str(tmp_path), **env}
    full.pop("OTKLIK_STAFF_BOT", None)
    return subprocess.run([sys.executable, "-m", "otklik", "config", "check"], capture_output=True, text=True,
                          env=full, timeout=60)


SOURCE = '[[sources]]\nname = "tg"\nplatform = "telegram"\nsecrets = { token = "env:TG_TOKEN" }\n'


def test_config_check_validates_the_staff_bot_section(tmp_path):
    r = _config_check(tmp_path, SOURCE + '[staff_bot]\ntelegram = true\ntelegram_token = "env:STAFF_TG"\n',
                      TG_TOKEN="1:x", STAFF_TG="2:y")
    assert r.returncode == 0, r.stderr
    r = _config_check(tmp_path, SOURCE + '[staff_bot]\ntelegram = true\ntelegram_tokn = "env:STAFF_TG"\n',
                      TG_TOKEN="1:x")
    assert r.returncode == 1 and "telegram_tokn" in r.stderr and "otklik.toml:7: staff_bot: unknown setting" in r.stderr
    r = _config_check(tmp_path, SOURCE + '[staff_bot]\nmax = true\nmax_token = "a-real-token"\n', TG_TOKEN="1:x")
    assert r.returncode == 1 and "reference" in r.stderr and "a-real-token" not in r.stderr
    r = _config_check(tmp_path, SOURCE + '[staff_bot]\nmax = true\n', TG_TOKEN="1:x")
    assert r.returncode == 1 and "max_token" in r.stderr
    r = _config_check(tmp_path, SOURCE + '[staff_bot]\nmax = true\nmax_token = "env:NOT_SET_ANYWHERE"\n',
                      TG_TOKEN="1:x")
    assert r.returncode == 1 and "[staff_bot] max_token: not found (env:NOT_SET_ANYWHERE)" in r.stderr
