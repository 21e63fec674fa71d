"""The whole way in a real browser against a real daemon, a real RQ worker and the Telegram
emulator: a message injected into the emulator appears in the curator's open inbox without a
reload; the curator routes it, the executor drafts with a photo (a quality hint shows while typing),
the approver approves with the second factor, and the reply arrives on the emulator with the photo."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from otklik.api import auth
from otklik.demo.run import free_port
from sandbox.registry import emulator_class
from sandbox.runner import serving
from storage.db import Database
from storage.tables import AttachmentRow
from tests.console.browser import PASSWORD, SHOTS, Person, Ui
from tests.console.test_console_files import photo
from tests.otklik.test_end_to_end import _stop, _up, wait_for

ANSWER = "Здравствуйте! Фонари на улице Ленина починят до конца недели. Спасибо за сигнал."


@pytest.fixture
def daemon_stack(tmp_path: Path, database_url: str, redis_url: str):
    """`otklik run` and `otklik worker` as child processes on the test's database and Redis, polling
    the Telegram emulator; people: curator, executor (zhkh), approver."""
    emulator = emulator_class("telegram")(seed=5)
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
        people = {}
        with db.session() as s:
            for login, role in (("cur", "curator"), ("exe", "executor"), ("appr", "approver")):
                secret = auth.create_user(s, login, role, password=PASSWORD,
                                          department="zhkh" if role == "executor" else None)[2]
                people[login] = Person(login, role, PASSWORD, secret)
        logs = tmp_path / "children.log"
        with logs.open("wb") as out:
            procs = [subprocess.Popen([sys.executable, "-m", "otklik", *cmd], env=env, stdout=out,
                                      stderr=subprocess.STDOUT) for cmd in (["run"], ["worker"])]
            url = f"http://127.0.0.1:{port}"
            try:
                wait_for(lambda: _up(url), 30)
                yield {"url": url, "tg": tg, "emulator": emulator, "db": db, "people": people}
            finally:
                for p in procs:
                    p.terminate()
                for p in procs:
                    _stop(p, logs)
        db.dispose()


@pytest.fixture
def stack_ui(browser, daemon_stack, request):
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="ru-RU")
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield Ui(page=page, base=daemon_stack["url"], shots_dir=SHOTS / request.node.name)
    context.close()


def test_message_to_reply_through_the_console(stack_ui, daemon_stack, tmp_path):
    ui, tg, emulator, people = stack_ui, daemon_stack["tg"], daemon_stack["emulator"], daemon_stack["people"]
    ui.login(people["cur"])
    expect(ui.page.get_by_role("heading", name="Входящие")).to_be_visible()
    ui.page.evaluate("window.__marker = 1")
    injected_at = time.monotonic()
    tg.call(emulator.inject, {"text": "Добрый день! На улице Ленина не горят фонари уже неделю."})
    row = ui.page.locator("#inbox tbody tr").first
    expect(row).to_contain_text("фонари", timeout=30_000)  # appeared without a reload
    delay = time.monotonic() - injected_at
    assert ui.page.evaluate("window.__marker") == 1
    ui.shot(f"inbox-live-{delay:.1f}s")
    row.get_by_role("link").click()
    ui.page.wait_for_load_state()
    ui.shot("case-new")
    case_url = ui.page.url
    ui.page.locator("#r-ex-zhkh").check()
    for other in ui.page.locator("fieldset input:checked").all():
        if other.get_attribute("value") != "zhkh":
            other.uncheck()
    ui.page.get_by_role("button", name="Сохранить маршрут").click()
    ui.page.wait_for_load_state()
    ui.shot("case-routed")
    ui.logout()

    ui.login(people["exe"])
    ui.page.goto(case_url)
    ui.page.get_by_label("Текст").fill("Осуществляется ремонт")
    expect(ui.page.locator("#d-hints")).to_contain_text("начните с приветствия", timeout=10_000)
    ui.shot("draft-hint")
    ui.page.get_by_label("Текст").fill(ANSWER)
    ui.page.get_by_label("Фотографии к ответу", exact=False).set_input_files(str(photo(tmp_path / "lamp.jpg")))
    ui.page.get_by_role("button", name="Отправить на согласование").click()
    ui.page.wait_for_load_state()
    ui.shot("draft-submitted")
    time.sleep(1.0)
    assert tg.call(lambda: list(emulator.replies)) == []  # nothing is posted before approval
    ui.logout()

    ui.login(people["appr"])
    ui.page.goto(case_url)
    ui.shot("approver-view")
    ui.page.get_by_label("Одноразовый код для согласования").fill(
        pyotp.TOTP(people["appr"].totp_secret).at(time.time() + 30))  # the login used this period's
    ui.page.get_by_role("button", name="Согласовать и опубликовать").click()
    ui.page.wait_for_load_state()
    ui.shot("approved")
    replies = wait_for(lambda: tg.call(lambda: list(emulator.replies)), 60)
    assert [r["text"] for r in replies] == [ANSWER]
    with daemon_stack["db"].session() as s:
        stored = s.execute(select(AttachmentRow.sha256).where(AttachmentRow.origin == "answer")).scalars().all()
    assert len(stored) == 1
    assert [a["sha256"] for a in replies[0]["attachments"]] == stored  # the photo arrived with the answer
    for _ in range(60):  # the worker records the publication right after posting
        ui.page.reload()
        if "ответ опубликован" in ui.page.locator("h1").inner_text():
            break
        time.sleep(0.5)
    expect(ui.page.locator("h1")).to_contain_text("ответ опубликован")
    ui.shot("case-after-reply")
