"""My notifications in a real browser: a case routed to my department lights the bell in the
header; the page lists the note with its link, marks it read, and the preferences form saves my
quiet hours and digest time (Russian labels; CSRF on every POST)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from otklik.services import notifications
from otklik.services.access import actor_of
from storage.tables import UserRow
from tests.console.browser import open_case


def test_the_bell_the_list_mark_read_and_the_preferences(ui, console_site):
    people = console_site.people
    case_id = open_case(console_site.db, "Яма у остановки", external_id="n:1", executors=["dorogi"])
    ui.login(people["exe"])
    ui.goto("/console/inbox", "inbox with the bell")
    bell = ui.page.locator("#bell")
    expect(bell).to_contain_text("1")
    bell.click()
    ui.page.wait_for_load_state()
    ui.shot("notifications")
    note = ui.page.locator("#notes li.unread")
    expect(note).to_have_count(1)
    expect(note).to_contain_text(f"Вам назначено обращение №{case_id}")
    link = note.get_by_role("link", name="Открыть")  # Settings.link: the configured public address
    expect(link).to_have_attribute("href", re.compile(rf"/console/cases/{case_id}$"))
    note.get_by_role("button", name="Прочитано").click()
    ui.page.wait_for_load_state()
    expect(ui.page.locator("#notes li.unread")).to_have_count(0)
    expect(ui.page.locator("#bell .count")).to_have_count(0)
    ui.page.get_by_label("С", exact=True).fill("22:00")
    ui.page.get_by_label("До", exact=True).fill("07:00")
    ui.page.get_by_label("Время сводки").fill("09:15")
    ui.page.get_by_label("Telegram").uncheck()
    ui.page.get_by_role("button", name="Сохранить").click()
    ui.page.wait_for_load_state()
    ui.shot("preferences saved")
    expect(ui.page.locator("#saved")).to_be_visible()
    with console_site.db.session() as s:
        got = notifications.get_preferences(s, actor_of(s.query(UserRow).filter_by(login="exe").one()))
    assert (got["quiet_start"], got["quiet_end"], got["digest_at"]) == ("22:00", "07:00", "09:15")
    assert got["channels"] == ["email", "max", "console"]
    ui.page.get_by_label("С", exact=True).fill("22:00")
    ui.page.get_by_label("До", exact=True).fill("")
    ui.page.get_by_role("button", name="Сохранить").click()
    ui.page.wait_for_load_state()
    expect(ui.page.locator("body")).to_contain_text("тихие часы: укажите и начало, и конец")
