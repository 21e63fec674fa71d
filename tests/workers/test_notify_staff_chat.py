"""Issue 19, "notifications reaching an SMTP server and a chat": an executor links a Telegram chat
with the staff bot (one-time code from the service, `/start CODE` written in the Telegram emulator,
read by the bot poller), a case is routed to the department, and one step writes the notes; the
relay enqueues them and a real RQ worker (a child process) delivers the e-mail to a real SMTP server
(aiosmtpd) and the chat message to the emulator, each once. The worker's log carries neither."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
from sqlalchemy import select

from otklik import services
from otklik.relay import OutboxRelay
from otklik.services import access, staff_links
from otklik.settings import get_settings
from otklik.staffbot.bots import TelegramStaffBot
from otklik.staffbot.poller import StaffBotPoller
from sandbox.runner import serving
from sandbox.telegram.emulator import TelegramEmulator
from sandbox.telegram.staff import STAFF_TOKEN
from storage.tables import NotificationRow, UserRow
from tests.otklik import notify_world as world

CHAT = 5150


@pytest.fixture
def telegram():
    emulator = TelegramEmulator(long_poll_cap=0.2)
    with serving(emulator) as server:
        yield server, emulator


@pytest.fixture
def env(tmp_path, database_url, redis_url, smtp_server, telegram, monkeypatch):
    inbox, port = smtp_server
    server, _ = telegram
    config = tmp_path / "otklik.toml"
    config.write_text(f'profile = "severny"\npublic_url = "https://otklik.adm.example"\n'
                      f'[mail]\nhost = "127.0.0.1"\nport = {port}\nsender = "uved@adm-severny.example"\ntimeout = 5\n'
                      f'[staff_bot]\ntelegram = true\ntelegram_token = "env:TEST_STAFF_TG"\n'
                      f'telegram_base_url = "{server.url}"\n', encoding="utf-8")
    monkeypatch.setenv("OTKLIK_CONFIG", str(config))
    monkeypatch.setenv("TEST_STAFF_TG", STAFF_TOKEN)
    get_settings.cache_clear()
    yield {"inbox": inbox, "redis_url": redis_url,
           "env": {**os.environ, "OTKLIK_CONFIG": str(config), "DATABASE_URL": database_url, "REDIS_URL": redis_url,
                   "OTKLIK_VAR_DIR": str(tmp_path), "TEST_STAFF_TG": STAFF_TOKEN}}
    get_settings.cache_clear()


async def link_chat(db, server, emulator, login: str) -> None:
    with db.session() as s:
        actor = access.actor_of(s.execute(select(UserRow).where(UserRow.login == login)).scalar_one(), via="api")
    code = services.run(db, lambda s: staff_links.request_code(s, actor, "telegram"))["code"]
    server.call(emulator.staff.write, CHAT, f"/start {code}")
    http = httpx.AsyncClient()
    try:
        await StaffBotPoller(db, "telegram", TelegramStaffBot(http, STAFF_TOKEN, server.url), wait=0, http=http).step()
    finally:
        await http.aclose()
    with db.session() as s:
        assert staff_links.chat_of(s, actor.user_id, "telegram") == str(CHAT)


async def test_a_routed_case_reaches_the_executor_by_email_and_in_the_staff_chat(db, env, telegram):
    server, emulator = telegram
    with db.session() as s:
        world.staff(s)
    await link_chat(db, server, emulator, "ivanov")
    before = len(server.call(emulator.staff.sent_to, CHAT))  # the bot's «Готово» answer to /start
    with db.session() as s:
        case_id = world.open_case(s)
    with db.session() as s:
        rows = {r.channel: r.status for r in s.execute(select(NotificationRow).where(
            NotificationRow.kind == "assigned", NotificationRow.user_id == select(UserRow.id).where(
                UserRow.login == "ivanov").scalar_subquery())).scalars()}
    assert rows == {"email": "pending", "telegram": "pending", "console": "sent"}
    assert OutboxRelay(db, env["redis_url"]).step() == 2
    r = subprocess.run([sys.executable, "-m", "otklik", "worker", "--burst"], env=env["env"],
                       capture_output=True, text=True, timeout=120)
    sent = server.call(emulator.staff.sent_to, CHAT)[before:]
    assert len(sent) == 1, r.stderr[-3000:]
    assert sent[0]["plain"].splitlines()[0] == f"Вам назначено обращение №{case_id}"
    assert sent[0]["links"] == [f"https://otklik.adm.example/console/cases/{case_id}"]
    [letter] = env["inbox"].messages
    assert letter["To"] == "ivanov@adm.example"
    for private in (world.AUTHOR, world.PHONE):
        assert private not in sent[0]["plain"] and private not in letter.get_content()
    assert str(CHAT) not in r.stderr + r.stdout and STAFF_TOKEN not in r.stderr + r.stdout
    # Nothing is left to send, and a second worker pass sends nothing again.
    assert OutboxRelay(db, env["redis_url"]).step() == 0
    subprocess.run([sys.executable, "-m", "otklik", "worker", "--burst"], env=env["env"], capture_output=True,
                   timeout=120)
    assert len(server.call(emulator.staff.sent_to, CHAT)) == before + 1 and len(env["inbox"].messages) == 1
