"""Search over message texts and answers: Russian word forms match (PostgreSQL's Russian text
search, or FTS5 prefixes on SQLite), filters narrow, the scope holds, and the page shows it."""

from __future__ import annotations

from datetime import date, timedelta

from playwright.sync_api import expect

from otklik.actor import Actor
from otklik.services import cases
from otklik.services.inbox import Filters
from otklik.services.search import Period, fts5_query, search
from tests.console.browser import open_case

CUR = Actor(login="cur", role="curator", via="console")
EXE = Actor(login="exe", role="executor", department="dorogi", via="console")


def _ids(rows):
    return sorted(r["id"] for r in rows)


def test_search_words_filters_period_and_scope(db):
    lamps = open_case(db, "На улице Ленина не горят фонари", external_id="s:1", executors=["zhkh"],
                      topic_group="ЖКХ", topic="Уличное освещение")
    pit = open_case(db, "Огромная яма на дороге у школы", external_id="s:2", executors=["dorogi"])
    old = open_case(db, "Сломан фонарь во дворе", external_id="s:3", executors=["dorogi"], days_ago=40)
    with db.session() as s:  # an answer is searchable too
        cases.submit_draft(s, Actor(login="x", role="curator", via="cli"), pit,
                           text="Здравствуйте! Выбоину заасфальтируют завтра.")
    with db.session() as s:
        assert _ids(search(s, CUR, "фонарь")) == sorted([lamps, old])  # «фонари» and «фонарь»
        assert _ids(search(s, CUR, "асфальтирование заасфальтируют")) == []  # every word must match
        assert _ids(search(s, CUR, "выбоину")) == [pit]  # found in the draft
        assert _ids(search(s, CUR, "фонарь", Filters(department="dorogi"))) == [old]
        assert _ids(search(s, CUR, "фонарь", Filters(topic_group="ЖКХ"))) == [lamps]
        assert _ids(search(s, CUR, "фонарь", Filters(state="routed"))) == sorted([lamps, old])
        recent = Period(first=date.today() - timedelta(days=7))
        assert _ids(search(s, CUR, "фонарь", period=recent)) == [lamps]
        assert _ids(search(s, EXE, "фонарь")) == [old]  # the roads executor: its department's only
        assert _ids(search(s, CUR, "\"*) OR (")) == []  # operators are not the user's to write


def test_fts5_query_quotes_every_word():
    assert fts5_query('фонари OR "x') == '"фона"* AND "or" AND "x"'


def test_search_page(ui, console_site):
    open_case(console_site.db, "Не вывозят мусор с контейнерной площадки", external_id="s:9",
              executors=["dorogi"], topic_group="Мусор/Свалки/ТКО", topic="Вывоз ТКО")
    ui.login(console_site.people["cur"])
    ui.goto("/console/search", "search-empty")
    ui.page.get_by_label("Слова").fill("мусора")
    ui.page.get_by_role("button", name="Найти").click()
    ui.page.wait_for_load_state()
    ui.shot("search-results")
    expect(ui.page.locator("#results tbody tr")).to_have_count(1)
    ui.goto("/console/search?q=мусор&from=не-дата", "search-bad-date")
    expect(ui.page.get_by_role("heading", name="Неверный запрос")).to_be_visible()
