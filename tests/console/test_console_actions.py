"""The regulated actions on the case page in a real browser, each the service function of
otklik/services/case_actions.py: a co-executor gives its input, the responsible executor sees it
while writing the joint answer; the curator closes a case as forwarded to another body; forms are
shown only to those `may` allows."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from storage.tables import CaseRow, MessageRow
from tests.console.browser import open_case


def test_coexecutor_input_reaches_the_responsible_and_curator_closes(ui, console_site):
    db, people = console_site.db, console_site.people
    case_id = open_case(db, "Яма на дороге у дома 9, рядом течёт труба", external_id="8:1",
                        executors=["dorogi", "zhkh"])
    # On this channel the curator names the responsible executor; the other becomes the co-executor.
    ui.login(people["cur"])
    ui.goto(f"/console/cases/{case_id}", "curator-responsible")
    ui.page.get_by_label("Ответственный исполнитель").select_option("dorogi")
    ui.page.get_by_role("button", name="Назначить ответственным").click()
    ui.page.wait_for_load_state()
    with db.session() as s:
        record = s.get(CaseRow, case_id).record
    assert record["responsible"] == "dorogi"
    assert [m["department"] for m in record["coexecutors"]] == ["zhkh"]

    # The curator closes another case as forwarded to another body, with the reason.
    other = open_case(db, "Шумят соседи ночью", external_id="8:2", topic_group="Прочее", topic="Прочее")
    ui.goto(f"/console/cases/{other}", "curator-close")
    ui.page.get_by_label("Причина закрытия").select_option("forwarded")
    ui.page.get_by_label("Куда направлено", exact=False).fill("ОМВД по району")
    ui.page.get_by_label("Обоснование").fill("Нарушение тишины — компетенция полиции.")
    ui.page.get_by_role("button", name="Закрыть обращение").click()
    ui.page.wait_for_load_state()
    ui.shot("closed")
    with db.session() as s:
        row = s.get(CaseRow, other)
        assert row.state == "closed"
    # Forwarded without naming the body: a Russian 400 page, nothing changes.
    third = open_case(db, "Шумят соседи снова", external_id="8:3", topic_group="Прочее", topic="Прочее")
    ui.goto(f"/console/cases/{third}", "curator-close-2")
    ui.page.get_by_label("Причина закрытия").select_option("forwarded")
    ui.page.get_by_label("Обоснование").fill("Полиция.")
    with ui.page.expect_navigation() as nav:
        ui.page.get_by_role("button", name="Закрыть обращение").click()
    assert nav.value.status == 400
    expect(ui.page.locator("main")).to_contain_text("Куда направлено")
    with db.session() as s:
        assert s.get(CaseRow, third).state != "closed"
    ui.logout()  # one login per person: a one-time code is not taken twice

    # The co-executor (zhkh) writes its input for the responsible one (dorogi).
    ui.login(people["exe2"])
    ui.goto(f"/console/cases/{case_id}", "coexecutor-view")
    ui.page.get_by_label("Предложения для ответственного исполнителя").fill("Трубу заменим до 20 числа.")
    ui.page.get_by_label("Предложения для ответственного исполнителя").press("Tab")
    ui.page.keyboard.press("Enter")  # the submit button, by keyboard
    ui.page.wait_for_load_state()
    ui.shot("input-given")
    expect(ui.page.locator("#audit")).to_contain_text("предложения соисполнителя")
    ui.logout()

    # The responsible executor sees the input beside the draft form.
    ui.login(people["exe"])
    ui.goto(f"/console/cases/{case_id}", "responsible-drafting")
    expect(ui.page.locator("#coexecutor-inputs")).to_contain_text("Трубу заменим до 20 числа.")
    expect(ui.page.locator("#a-reason")).to_have_count(0)  # closing is the curator's
    ui.logout()



def test_curator_enters_a_manually_found_message(ui, console_site):
    db, people = console_site.db, console_site.people
    ui.login(people["exe"])
    ui.goto("/console/manual", "manual-executor")
    ui.page.get_by_label("Ссылка на сообщение").fill("https://vk.com/wall-1_5")
    ui.page.get_by_label("Текст сообщения").fill("Во дворе не убран снег")
    with ui.page.expect_navigation() as nav:
        ui.page.get_by_role("button", name="Принять сообщение").click()
    assert nav.value.status == 403  # the service decides: manual monitoring is the curator's
    ui.logout()

    ui.login(people["cur"])
    ui.page.get_by_role("link", name="Ручной ввод").click()
    ui.page.wait_for_load_state()
    ui.page.get_by_label("Где найдено").select_option("vk")
    ui.page.get_by_label("Ссылка на сообщение").fill("https://vk.com/wall-1_5")
    ui.page.get_by_label("Автор (если указан)").fill("Пётр")
    ui.page.get_by_label("Текст сообщения").fill("Во дворе не убран снег")
    ui.page.get_by_role("button", name="Принять сообщение").click()
    ui.page.wait_for_load_state()
    ui.shot("manual-entered")
    expect(ui.page.locator("#entered")).to_contain_text("принято")
    with db.session() as s:
        row = s.execute(select(MessageRow).where(MessageRow.source == "manual")).scalar_one()
        assert (row.url, row.platform, row.text) == ("https://vk.com/wall-1_5", "vk", "Во дворе не убран снег")
    # The same link again: refused with a 409 page naming the first entry; nothing is stored twice.
    ui.page.get_by_label("Ссылка на сообщение").fill("https://vk.com/wall-1_5")
    ui.page.get_by_label("Текст сообщения").fill("Во дворе не убран снег")
    with ui.page.expect_navigation() as nav:
        ui.page.get_by_role("button", name="Принять сообщение").click()
    assert nav.value.status == 409
    with db.session() as s:
        assert len(s.execute(select(MessageRow).where(MessageRow.source == "manual")).all()) == 1



def test_curator_decides_repeat(ui, console_site):
    db, people = console_site.db, console_site.people
    first = open_case(db, "Яма у школы", external_id="9:1", executors=["dorogi"], days_ago=3)
    case_id = open_case(db, "Опять яма у школы", external_id="9:2", executors=["dorogi"])
    ui.login(people["cur"])
    ui.goto(f"/console/cases/{case_id}", "curator-actions")
    ui.page.get_by_label("Повтор обращения №", exact=False).fill(str(first))
    ui.page.get_by_role("button", name="Решить о повторности").click()
    ui.page.wait_for_load_state()
    ui.shot("repeat-decided")
    expect(ui.page.locator("#audit")).to_contain_text("решено о повторности")
    # Not a number (the browser's pattern check removed, as a hand-made request would): a 400 page.
    ui.page.locator("#a-repeat").evaluate("el => el.removeAttribute('pattern')")
    ui.page.get_by_label("Повтор обращения №", exact=False).fill("abc")
    with ui.page.expect_navigation() as nav:
        ui.page.get_by_role("button", name="Решить о повторности").click()
    assert nav.value.status == 400
