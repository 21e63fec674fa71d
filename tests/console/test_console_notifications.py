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


def test_an_admin_sends_a_failed_note_again(ui, console_site, tmp_path, monkeypatch):
    from sqlalchemy import select

    from otklik.api import auth
    from otklik.settings import get_settings
    from storage.tables import AuditRow, NotificationRow

    from .browser import PASSWORD, Person

    config = tmp_path / "otklik.toml"  # e-mail on, so the executor's note has an e-mail copy
    config.write_text('[mail]\nhost = "127.0.0.1"\nport = 2525\n', encoding="utf-8")
    monkeypatch.setenv("OTKLIK_CONFIG", str(config))
    get_settings.cache_clear()
    with console_site.db.session() as s:
        secret = auth.create_user(s, "adm", "admin", password=PASSWORD)[2]
        s.query(UserRow).filter_by(login="exe").one().email = "exe@adm.example"
    case_id = open_case(console_site.db, "Яма у остановки", external_id="n:2", executors=["dorogi"])
    with console_site.db.session() as s:  # the e-mail bounced (as workers.notify_jobs records a 550)
        note = s.execute(select(NotificationRow).where(NotificationRow.channel == "email")).scalar_one()
        note.status, note.last_error, note_id = "failed", "SMTP 550: mailbox unavailable", note.id

    # Not for the executor: the page answers 403 and the bar has no link to it.
    ui.login(console_site.people["exe"])
    assert ui.goto("/console/admin/notifications", "403 for an executor").status == 403
    ui.logout()

    ui.login(Person("adm", "admin", PASSWORD, secret))
    ui.goto("/console/admin/notifications", "failed notes")
    row = ui.page.locator(f"#fn-{note_id}")
    expect(row).to_contain_text("exe")
    expect(row).to_contain_text("Электронная почта")
    expect(row).to_contain_text("назначение")
    expect(row).to_contain_text("SMTP 550")
    expect(row.get_by_role("link", name=f"№{case_id}")).to_have_attribute("href", f"/console/cases/{case_id}")
    row.get_by_role("button", name="Отправить снова").click()
    ui.page.wait_for_load_state()
    ui.shot("sent again")
    expect(ui.page.locator("#done-note")).to_contain_text(f"Уведомление {note_id}")
    expect(ui.page.locator("#failed-empty")).to_be_visible()
    with console_site.db.session() as s:
        row = s.get(NotificationRow, note_id)
        assert (row.status, row.attempts) == ("pending", 0)
        assert s.query(AuditRow).filter_by(action="notification_retry", actor="adm").count() == 1
