"""Similar past cases on the case page: the executor sees past cases of the municipality with
approved answers like this message (ranked, only in their scope), and «Взять за основу» fills the
draft's text on the server (a GET parameter; no script)."""

from __future__ import annotations

from playwright.sync_api import expect

from otklik.actor import Actor
from otklik.services import run, similar
from storage.tables import DraftRow
from tests.console.browser import open_case

POTHOLE_ANSWER = "Здравствуйте! Яму на улице Мира заделали асфальтом 3 июня. Спасибо за обращение."


def _approved(db, case_id: int, answer: str, status: str = "approved") -> None:
    with db.session() as s:
        s.add(DraftRow(case_id=case_id, kind="answer", text=answer, author="exe", status=status, quality=[]))


def test_similar_past_cases_and_take_as_base(ui, console_site):
    db, people = console_site.db, console_site.people
    near = open_case(db, "Огромная яма на дороге по улице Мира, колёса пробиваются", external_id="7:1",
                     executors=["dorogi"], days_ago=30)
    _approved(db, near, POTHOLE_ANSWER)
    farther = open_case(db, "Яма у остановки на улице Садовой", external_id="7:2", executors=["dorogi"], days_ago=20)
    _approved(db, farther, "Здравствуйте! Яму у остановки засыпали.")
    unapproved = open_case(db, "Яма на дороге улицы Мира снова", external_id="7:3", executors=["dorogi"], days_ago=10)
    _approved(db, unapproved, "Черновик, ещё не согласован", status="submitted")
    other_dept = open_case(db, "Яма на дороге по улице Мира во дворе, течёт труба", external_id="7:4",
                           executors=["zhkh"], days_ago=5)
    _approved(db, other_dept, "Ответ ЖКХ")
    unrelated = open_case(db, "Не вывозят мусор из контейнеров", external_id="7:5", executors=["dorogi"])
    _approved(db, unrelated, "Мусор вывезли.")
    case_id = open_case(db, "На улице Мира опять яма на дороге, пробил колесо", external_id="7:6",
                        executors=["dorogi"])

    exe = Actor(login="exe", role="executor", department="dorogi")
    found = run(db, lambda s: similar.similar_cases(s, exe, case_id))
    assert [f["case_id"] for f in found] == [near, farther]  # ranked; no draft-only, other dept or unrelated
    assert found[0]["answer"] == POTHOLE_ANSWER and found[0]["score"] > found[1]["score"] > 0

    ui.login(people["exe"])
    ui.goto(f"/console/cases/{case_id}", "case-similar")
    items = ui.page.locator("#similar li")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text(POTHOLE_ANSWER)
    items.first.get_by_role("button", name="Взять за основу").press("Enter")  # keyboard alone
    ui.page.wait_for_load_state()
    ui.shot("draft-from-similar")
    expect(ui.page.get_by_label("Текст")).to_have_value(POTHOLE_ANSWER)
    # Only what the page offered: another case's answer by a guessed id is refused.
    response = ui.goto(f"/console/cases/{case_id}?base={other_dept}", "base-refused")
    assert response.status == 400
    ui.logout()

    # The approver does not write drafts: no similar cases to start from.
    ui.login(people["appr"])
    ui.goto(f"/console/cases/{case_id}", "approver-no-similar")
    expect(ui.page.locator("#similar")).to_have_count(0)


def test_stems_and_similarity_are_pure():
    a, b = similar.stems("Здравствуйте! Яма на дороге"), similar.stems("ямы на дорогах")
    assert "здравствуйте" not in " ".join(a)
    assert similar.similarity(a, b) > 0 and similar.similarity(a, set()) == 0.0
    assert similar.similarity(a, a) == 1.0


def test_similar_shows_the_latest_approved_answer_and_skips_cases_without_one(db):
    """The answer is the newest approved one of its case (not a later draft sent back), and a case
    whose drafts were never approved is not a candidate, however alike its message."""
    twice = open_case(db, "Яма на дороге по улице Мира у школы", external_id="8:1", executors=["dorogi"], days_ago=9)
    _approved(db, twice, "Первый согласованный ответ")
    _approved(db, twice, "Второй согласованный ответ")
    _approved(db, twice, "Возвращённый черновик", status="returned")
    never = open_case(db, "Яма на дороге по улице Мира у школы снова", external_id="8:2", executors=["dorogi"],
                      days_ago=3)
    _approved(db, never, "Отправлен на доработку", status="returned")
    case_id = open_case(db, "Опять яма на дороге по улице Мира", external_id="8:3", executors=["dorogi"])

    exe = Actor(login="exe", role="executor", department="dorogi")
    found = run(db, lambda s: similar.similar_cases(s, exe, case_id))
    assert [(f["case_id"], f["answer"]) for f in found] == [(twice, "Второй согласованный ответ")]
