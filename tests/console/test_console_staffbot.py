"""«Бот уведомлений» in the browser: an executor gets a code with the Russian instruction, writes
`/start CODE` to the staff bot in the Telegram emulator (read by the bot poller), sees the chat
linked, and unlinks it from the console."""

from __future__ import annotations

import asyncio
import json
import threading

import httpx
import pytest
from sqlalchemy import select

from otklik.settings import get_settings
from otklik.staffbot import commands
from otklik.staffbot.bots import TelegramStaffBot
from otklik.staffbot.poller import StaffBotPoller
from sandbox.runner import serving
from sandbox.telegram.emulator import TelegramEmulator
from sandbox.telegram.staff import STAFF_TOKEN
from storage.tables import AuditRow


@pytest.fixture
def staff_bot_on(monkeypatch):
    monkeypatch.setenv("TEST_STAFF_TG", STAFF_TOKEN)
    monkeypatch.setenv("OTKLIK_STAFF_BOT", json.dumps({"telegram": True, "telegram_token": "env:TEST_STAFF_TG",
                                                       "telegram_username": "otklik_staff_bot"}))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def poll_once(db, url: str) -> None:
    """The bot poller's step, on a loop of its own thread (Playwright holds this thread's)."""
    async def step():
        async with httpx.AsyncClient() as h:
            await StaffBotPoller(db, "telegram", TelegramStaffBot(h, STAFF_TOKEN, url), wait=0).step()

    t = threading.Thread(target=lambda: asyncio.run(step()))
    t.start()
    t.join(30)


def test_link_and_unlink_the_staff_bot_from_the_console(staff_bot_on, ui, console_site):
    ui.login(console_site.people["exe"])
    assert ui.page.get_by_role("link", name="Бот уведомлений").count() == 1
    ui.page.get_by_role("link", name="Бот уведомлений").click()
    ui.page.wait_for_load_state()
    ui.shot("bot-page")
    assert ui.page.locator("#row-telegram").inner_text().split("\t")[1].strip() == "не привязан"
    assert ui.page.locator("#row-max").count() == 0  # MAX's bot is not configured: not offered

    ui.page.get_by_role("button", name="Получить код для Telegram").click()
    ui.page.wait_for_load_state()
    ui.shot("code")
    code = ui.page.locator("#code").inner_text().strip()
    assert ui.page.locator("#instruction").inner_text() == f"Откройте бота и отправьте /start {code}"
    assert ui.page.get_by_role("link", name="Открыть бота с кодом").get_attribute("href") == \
        f"https://t.me/otklik_staff_bot?start={code}"
    assert code not in ui.page.url  # the code is in the page, never in an address

    emulator = TelegramEmulator(long_poll_cap=0.2)
    with serving(emulator) as server:
        server.call(emulator.staff.write, 4242, f"/start {code}")
        poll_once(console_site.db, server.url)
        assert [m["plain"] for m in server.call(emulator.staff.sent_to, 4242)] == [commands.LINKED]

    ui.goto("/console/me/bot", "linked")
    assert "привязан" == ui.page.locator("#row-telegram td").nth(1).inner_text().strip()
    ui.page.get_by_role("button", name="Отвязать Telegram").click()
    ui.page.wait_for_load_state()
    ui.shot("unlinked")
    assert ui.page.locator("#done").inner_text() == "Чат отвязан: уведомления туда больше не приходят."
    assert ui.page.locator("#row-telegram td").nth(1).inner_text().strip() == "не привязан"
    with console_site.db.session() as s:
        actions = [a for (a,) in s.execute(select(AuditRow.action).where(AuditRow.action.like("staff_bot%"))
                                           .order_by(AuditRow.id))]
    assert actions == ["staff_bot_code", "staff_bot_linked", "staff_bot_unlinked"]
