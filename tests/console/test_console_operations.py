"""The head's and the admin's pages in a real browser: the head's dashboard and the reports
reached from it, the moderation list (matched words marked) and a curator's overrule, a parked
delivery retried with the one-time code, the admin's directory and sources, and an executor kept
out of all of them."""

from __future__ import annotations

import time
from datetime import timedelta
from io import BytesIO

import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from otklik.api import auth
from storage.tables import (
    AlertRow,
    AuditRow,
    DraftRow,
    MessageRow,
    OutboxRow,
    QuarantineRow,
    SourceStateRow,
    VerdictRow,
    now,
)
from tests.console.browser import PASSWORD, Person, open_case

ADMIN_PAGES = ("/console/admin/users", "/console/admin/departments", "/console/admin/substitutes",
               "/console/admin/sources", "/console/admin/deliveries")


@pytest.fixture
def more_people(console_site) -> dict[str, Person]:
    """A head and an admin besides the foundation's curator, executors and approver."""
    out = {}
    with console_site.db.session() as s:
        for login, role in (("head", "head"), ("adm", "admin")):
            secret = auth.create_user(s, login, role, password=PASSWORD)[2]
            out[login] = Person(login, role, PASSWORD, secret)
    return out


def next_code(person: Person) -> str:
    """The code of the next 30-second step: the login's code is used up (each code is good once)."""
    return pyotp.TOTP(person.totp_secret).at(time.time() + 30)


def test_head_sees_the_dashboard_and_the_report_behind_it(ui, console_site, more_people):
    db = console_site.db
    late = open_case(db, "Яма у школы, машины бьют колёса", external_id="2:1", executors=["dorogi"], days_ago=20)
    fresh = open_case(db, "Не вывезли мусор во дворе", external_id="2:2", executors=["zhkh"],
                      topic_group="ЖКХ", topic="Вывоз мусора")
    with db.session() as s:
        s.add(AlertRow(at=now(), kind="overdue", text="просрочен срок «ответ автору»", data={"case_id": late}))
    ui.login(more_people["head"])
    ui.goto("/console/dashboard", "dashboard")
    expect(ui.page.get_by_role("heading", name="Обзор", exact=False)).to_be_visible()
    roads = ui.page.locator("#departments tbody tr", has_text="дорожного хозяйства")
    expect(roads).to_contain_text("1")
    expect(roads.locator("td.late")).to_contain_text(f"№{late}")
    expect(ui.page.locator(".alerts")).to_contain_text("просрочен срок")
    expect(ui.page.locator("#today")).to_contain_text("ЖКХ")
    ui.page.get_by_role("link", name="Отчёты за период →").click()
    ui.page.wait_for_load_state()
    ui.shot("reports")
    expect(ui.page.get_by_role("heading", name="Отчёт о работе с обращениями")).to_be_visible()
    assert ui.page.locator("svg").count() >= 1  # the charts, drawn on the server
    # Drill-down: a figure links to the cases behind it, and they open in the console.
    received = ui.page.locator("section.report table a[href^='#d']").first
    received.click()
    target = ui.page.locator("section.report p[id^='d'] a[href^='/console/cases/']")
    assert {f"/console/cases/{late}", f"/console/cases/{fresh}"} <= {a.get_attribute("href") for a in target.all()}
    with ui.page.expect_download() as got:
        ui.page.get_by_role("link", name="XLSX").click()
    from openpyxl import load_workbook

    book = load_workbook(BytesIO(open(got.value.path(), "rb").read()))
    assert len(book.sheetnames) >= 3
    # The head reads the moderation list but does not overrule.
    ui.goto("/console/moderation", "moderation-head")
    expect(ui.page.get_by_role("button", name="Вернуть в обработку")).to_have_count(0)


def _dropped(db, text: str, start: int, end: int, reason: str) -> int:
    with db.session() as s:
        msg = MessageRow(source="tg", platform="telegram", external_id="3:1", author_id="7", author_name="Пётр",
                         thread={"kind": "chat", "ids": {"chat_id": 1, "message_id": 3}}, text=text,
                         created_at=now(), stored_at=now(), attachments=[], raw={}, processed=True)
        s.add(msg)
        s.flush()
        s.add(VerdictRow(message_id=msg.id, decision="drop", reasons=[reason],
                         spans=[{"start": start, "end": end, "text": text[start:end], "reason": reason}]))
        return msg.id


def test_a_dropped_message_is_overruled(ui, console_site):
    db = console_site.db
    text = "Опять <b>эти</b> бараны не починили свет на Лесной"
    word = "бараны"
    mid = _dropped(db, text, text.index(word), text.index(word) + len(word), "insult")
    ui.login(console_site.people["cur"])
    ui.goto("/console/moderation", "moderation")
    row = ui.page.locator(f"#m{mid}")
    expect(row.locator("mark")).to_have_text(word)
    expect(row).to_contain_text("<b>эти</b>")  # the citizen's text is shown as text, never as markup
    expect(row).to_contain_text("оскорбление")
    row.get_by_role("button", name=f"Вернуть в обработку сообщение {mid}").click()
    ui.page.wait_for_load_state()
    ui.shot("moderation-overruled")
    expect(ui.page.locator("#overruled-note")).to_contain_text(str(mid))
    expect(ui.page.locator(f"#m{mid}")).to_have_count(0)
    with db.session() as s:
        verdict, msg = s.get(VerdictRow, mid), s.get(MessageRow, mid)
        assert (verdict.decision, verdict.overruled_by, msg.processed) == ("accept", "cur", False)
        audit = s.execute(select(AuditRow).where(AuditRow.action == "drop_overruled")).scalars().all()
        assert [(a.actor, a.entity_id) for a in audit] == [("cur", str(mid))]


def _parked_delivery(db) -> str:
    case_id = open_case(db, "Не горит фонарь у остановки", external_id="4:1", executors=["dorogi"])
    with db.session() as s:
        draft = DraftRow(case_id=case_id, kind="answer", text="Здравствуйте! Фонарь заменим.", author="exe",
                         status="approved", quality=[])
        s.add(draft)
        s.flush()
        message_id = s.execute(select(MessageRow.id).where(MessageRow.external_id == "4:1")).scalar_one()
        s.add(OutboxRow(id="parked-1", case_id=case_id, draft_id=draft.id, message_id=message_id, source="tg",
                        reply={"text": "Здравствуйте! Фонарь заменим.", "platform": "telegram"}, status="parked",
                        attempts=2, last_error="token revoked", not_before=now() + timedelta(minutes=5)))
    return "parked-1"


def test_a_parked_delivery_is_retried_with_the_one_time_code(ui, console_site):
    db = console_site.db
    oid = _parked_delivery(db)
    cur = console_site.people["cur"]
    ui.login(cur)
    ui.goto("/console/admin/deliveries", "deliveries")
    row = ui.page.locator(f"#d-{oid}")
    expect(row).to_contain_text("приостановлена")
    expect(row).to_contain_text("token revoked")
    row.get_by_label("Одноразовый код").first.fill("000000")
    row.get_by_role("button", name="Отправить снова").click()
    ui.page.wait_for_load_state()
    ui.shot("deliveries-wrong-code")
    expect(ui.page.get_by_text("Неверный одноразовый код")).to_be_visible()
    with db.session() as s:
        assert s.get(OutboxRow, oid).status == "parked"  # nothing changed
    ui.goto("/console/admin/deliveries", "deliveries-again")
    row = ui.page.locator(f"#d-{oid}")
    row.get_by_label("Одноразовый код").first.fill(next_code(cur))
    row.get_by_role("button", name="Отправить снова").click()
    ui.page.wait_for_load_state()
    ui.shot("deliveries-retried")
    expect(ui.page.locator("#done-note")).to_contain_text("в очередь снова")
    expect(ui.page.locator(f"#d-{oid}")).to_have_count(0)
    with db.session() as s:
        row = s.get(OutboxRow, oid)
        assert (row.status, row.attempts, row.not_before) == ("pending", 0, None)
        actions = [a.action for a in s.execute(select(AuditRow).where(AuditRow.actor == "cur")).scalars()]
        assert "step_up_failed" in actions and "step_up" in actions and "delivery_retry" in actions


def test_admin_runs_the_directory_and_sees_the_sources(ui, console_site, more_people):
    db = console_site.db
    with db.session() as s:
        s.add(SourceStateRow(source="vk_main", status="auth_failed", last_error="token revoked", failures=1))
        s.add(QuarantineRow(source="vk_main", stage="ingest", reason="ValidationError", raw={"rejected": {}}))
    ui.login(more_people["adm"])
    ui.goto("/console/admin/users", "admin-users")
    expect(ui.page.locator("#u-exe")).to_contain_text("dorogi")
    ui.goto("/console/admin/departments", "admin-departments")
    ui.page.get_by_label("Код (латиница, цифры, _)").fill("arkhiv")
    ui.page.get_by_label("Название").fill("Архивный отдел")
    ui.page.get_by_role("button", name="Добавить").click()
    ui.page.wait_for_load_state()
    expect(ui.page.locator("#departments")).to_contain_text("Архивный отдел")
    ui.goto("/console/admin/sources", "admin-sources")
    expect(ui.page.locator("#src-vk_main")).to_contain_text("токен не действует")
    expect(ui.page.locator("#quarantine")).to_contain_text("ValidationError")
    ui.goto("/console/admin/substitutes", "admin-substitutes")
    expect(ui.page.get_by_role("heading", name="Назначить замещение")).to_be_visible()
    # Deliveries post in the municipality's name: the curator's, not the admin's.
    response = ui.goto("/console/admin/deliveries", "admin-deliveries-refused")
    assert response.status == 403


def test_an_executor_cannot_open_the_admin_pages(ui, console_site):
    ui.login(console_site.people["exe"])
    nav = ui.page.get_by_role("navigation", name="Разделы")
    for title in ("Обзор", "Отчёты", "Модерация", "Доставки", "Источники", "Пользователи"):
        expect(nav.get_by_role("link", name=title)).to_have_count(0)
    for path in (*ADMIN_PAGES, "/console/dashboard", "/console/moderation"):
        response = ui.goto(path, f"exe-{path}")
        assert response.status == 403, path
        expect(ui.page.get_by_role("heading", name="Нет доступа")).to_be_visible()
    with console_site.db.session() as s:
        refused = {a.data["action"] for a in s.execute(select(AuditRow).where(AuditRow.action == "refused")).scalars()}
    assert {"manage_directory", "read_sources", "read_deliveries", "read_dashboard", "read_dropped"} <= refused
