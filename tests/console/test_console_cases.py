"""The case page in a real browser: the curator corrects the routing (the router learns from it),
the executor drafts with live quality hints, the approver approves with the second factor, and an
executor of another department gets the 404 page. Every step is the API's service function: the
audit trail shows it, and the outbox holds the approved reply."""

from __future__ import annotations

import json
import time

import pyotp
from playwright.sync_api import expect
from sqlalchemy import select

from storage.tables import CaseRow, OutboxRow
from tests.console.browser import open_case

ANSWER = ("Здравствуйте, Анна! Яму во дворе дома 3 засыплют щебнем и заасфальтируют до пятницы. "
          "Спасибо, что сообщили.")


def test_route_draft_hint_approve_and_scope(ui, console_site):
    db = console_site.db
    case_id = open_case(db, "Во дворе дома 3 огромная яма, машины ломаются", external_id="5:1",
                        topic_group="Благоустройство", topic="Дворы")  # needs the curator
    people = console_site.people

    # An executor of another department: the case is not in its scope, as if there were none.
    ui.login(people["exe2"])
    response = ui.goto(f"/console/cases/{case_id}", "case-out-of-scope")
    assert response.status == 404
    expect(ui.page.get_by_role("heading", name="Не найдено")).to_be_visible()
    ui.logout()

    # The curator corrects topic, importance and place and routes to roads.
    ui.login(people["cur"])
    ui.goto(f"/console/cases/{case_id}", "case-new")
    ui.page.get_by_label("Группа тем").select_option("Дороги")
    ui.page.get_by_label("Тема", exact=True).fill("Ремонт дорог")
    ui.page.get_by_label("Важность").select_option("high")
    ui.page.get_by_label("Место (по одному на строку)").fill("двор дома 3")
    ui.page.locator("#r-ex-dorogi").check()
    ui.page.get_by_role("button", name="Сохранить маршрут").click()
    ui.page.wait_for_load_state()
    ui.shot("case-routed")
    expect(ui.page.locator("#audit")).to_contain_text("маршрутизировано")
    with db.session() as s:
        row = s.get(CaseRow, case_id)
        assert (row.topic_group, row.topic, row.importance, row.executors) == \
            ("Дороги", "Ремонт дорог", "high", ["dorogi"])
        assert [loc["name"] for loc in row.location] == ["двор дома 3"]
    learned = [json.loads(line) for line in (console_site.var_dir / "router_corrections.jsonl").read_text().splitlines()]
    assert learned[-1]["topic_group"] == "Дороги" and learned[-1]["source"] == "curator_correction"
    ui.logout()

    # The executor drafts; the quality hint appears while typing, without submitting.
    ui.login(people["exe"])
    ui.goto(f"/console/cases/{case_id}", "case-executor")
    ui.page.get_by_label("Текст").fill("в рамках работ осуществляется ремонт")
    expect(ui.page.locator("#d-hints")).to_contain_text("начните с приветствия", timeout=10_000)
    ui.shot("draft-live-hints")
    ui.page.get_by_label("Текст").fill(ANSWER)
    expect(ui.page.locator("#d-hints")).not_to_contain_text("начните с приветствия", timeout=10_000)
    ui.page.get_by_role("button", name="Отправить на согласование").click()
    ui.page.wait_for_load_state()
    ui.shot("draft-submitted")
    expect(ui.page.locator("#draft-text")).to_have_text(ANSWER)
    expect(ui.page.get_by_role("button", name="Согласовать и опубликовать")).to_have_count(0)  # not an approver
    ui.logout()

    # The approver sees message, draft and quality report; a wrong code approves nothing.
    ui.login(people["appr"])
    ui.goto(f"/console/cases/{case_id}", "case-approver")
    expect(ui.page.locator("#message-text")).to_contain_text("огромная яма")
    expect(ui.page.locator("#timeline")).to_contain_text("003 §")  # each step's clause of the regulation
    ui.page.get_by_label("Одноразовый код для согласования").fill("000000")
    ui.page.get_by_role("button", name="Согласовать и опубликовать").click()
    ui.page.wait_for_load_state()
    expect(ui.page.get_by_role("heading", name="Нет доступа")).to_be_visible()
    ui.shot("approve-wrong-code")
    with db.session() as s:
        assert s.execute(select(OutboxRow)).first() is None
    # Each code is accepted once and login used this period's: the next period's is in the window.
    ui.goto(f"/console/cases/{case_id}", "case-approver-again")
    code = pyotp.TOTP(people["appr"].totp_secret).at(time.time() + 30)
    ui.page.get_by_label("Одноразовый код для согласования").fill(code)
    ui.page.get_by_role("button", name="Согласовать и опубликовать").click()
    ui.page.wait_for_load_state()
    ui.shot("approved")
    expect(ui.page.locator("h1")).to_contain_text("согласовано")
    with db.session() as s:
        outbox = s.execute(select(OutboxRow)).scalars().all()
        assert len(outbox) == 1 and outbox[0].reply["text"] == ANSWER
    expect(ui.page.locator("#audit")).to_contain_text("согласовано")


def test_return_send_back_and_hints_rendered_on_submit(ui, console_site):
    db, people = console_site.db, console_site.people
    wrong = open_case(db, "Во дворе сломали детскую горку", external_id="6:1", executors=["dorogi"])
    case_id = open_case(db, "На перекрёстке не работает светофор", external_id="6:2", executors=["dorogi"])

    ui.login(people["exe"])
    ui.goto(f"/console/cases/{wrong}", "case-to-return")
    ui.page.get_by_label("Причина (почему не ваша компетенция)").fill("Детские площадки — благоустройство")
    ui.page.get_by_role("button", name="Вернуть", exact=True).click()
    ui.page.wait_for_load_state()
    ui.shot("after-return")
    with db.session() as s:
        assert s.get(CaseRow, wrong).state == "returned"
    # A draft with problems: the report is rendered by the server with the submitted draft.
    ui.goto(f"/console/cases/{case_id}", "case-draft-with-problems")
    ui.page.get_by_label("Текст").fill("в рамках работ осуществляется ремонт светофора")
    ui.page.get_by_role("button", name="Отправить на согласование").click()
    ui.page.wait_for_load_state()
    ui.shot("submitted-with-problems")
    expect(ui.page.locator("#draft-quality")).to_contain_text("начните с приветствия")
    ui.logout()

    ui.login(people["appr"])
    ui.goto(f"/console/cases/{case_id}", "approver-sees-report")
    expect(ui.page.locator("#draft-quality")).to_contain_text("канцелярит")
    ui.page.get_by_label("Замечание исполнителю").fill("Поздоровайтесь и напишите проще")
    ui.page.get_by_role("button", name="Вернуть на доработку").click()
    ui.page.wait_for_load_state()
    ui.shot("sent-back")
    expect(ui.page.locator("h1")).to_contain_text("на доработке")
    expect(ui.page.locator("#audit")).to_contain_text("Поздоровайтесь и напишите проще")
