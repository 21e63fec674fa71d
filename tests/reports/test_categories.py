"""New-topic proposals: the clustering separates clearly different groups of messages with sensible
top terms; propose() reads only uncertain cases of the period, per topic group; the CLI prints
terms and case ids, never texts."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from otklik.cli import main
from reports.categories import Proposal, cluster, propose

# Written for these tests: three clearly different complaints, several wordings each.
SNOW = ["Двор не чистят от снега, сугробы по колено", "Снег во дворе не убирают уже неделю, сугробы",
        "Сугробы у подъезда, снег никто не чистит", "Не убран снег во дворе дома, огромные сугробы",
        "Снег не вывозят, сугробы закрыли проход во дворе"]
DOGS = ["Стая бездомных собак бросается на детей", "Бездомные собаки у школы, дети боятся",
        "Бродячие собаки стаей бегают возле школы", "Собаки без хозяина нападают на прохожих у школы"]
BUS = ["Автобус 12 не ходит по расписанию", "Автобус номер 12 опаздывает, расписание не соблюдается",
       "По расписанию автобус не приходит, ждём час", "Автобус 12 пропал с маршрута, расписание не работает"]
ODD = ["Прошу проверить счёт за электричество"]


def test_cluster_separates_clearly_different_groups():
    items = [(i, t) for i, t in enumerate(SNOW + DOGS + BUS + ODD, start=1)]
    found = cluster(items, min_size=3)
    assert len(found) == 3
    by_size = {tuple(sorted(ids)): terms for ids, terms in found}
    assert set(by_size) == {(1, 2, 3, 4, 5), (6, 7, 8, 9), (10, 11, 12, 13)}
    assert {"снег", "сугробы"} & set(by_size[(1, 2, 3, 4, 5)][:3])
    assert "собаки" in by_size[(6, 7, 8, 9)][:3]
    assert {"автобус", "расписанию", "расписание"} & set(by_size[(10, 11, 12, 13)][:2])
    assert found[0][0] == [1, 2, 3, 4, 5]  # the biggest first


def test_cluster_small_or_empty_input():
    assert cluster([]) == []
    assert cluster([(1, "Снег"), (2, "Собаки")], min_size=3) == []
    assert cluster([(1, "!!! ..."), (2, "и а"), (3, "")]) == []


def add_cases(db, rows):
    from storage.tables import CaseRow, MessageRow

    ids = []
    with db.session() as s:
        for n, (text, group, manual, confidence, at) in enumerate(rows):
            m = MessageRow(source="tg", platform="telegram", external_id=str(n), thread={}, author_id="1", text=text,
                           created_at=at, attachments=[], raw={})
            s.add(m)
            s.flush()
            c = CaseRow(message_id=m.id, profile="p", channel="c", state="new", executors=[], location=[], record={},
                        topic_group=group, needs_manual=manual, confidence=confidence)
            s.add(c)
            s.flush()
            ids.append(c.id)
    return ids


@pytest.fixture
def filled(db):
    now = datetime(2024, 12, 2, 10, tzinfo=UTC)
    rows = [(t, "ЖКХ", True, 0.9, now) for t in SNOW]
    rows += [(t, "ЖКХ", False, 0.2, now) for t in DOGS]  # low confidence counts too
    rows += [(t, "Транспорт", False, 0.95, now) for t in BUS]  # sure: not offered
    rows += [(t, None, True, None, now - timedelta(days=40)) for t in BUS]  # older
    return add_cases(db, rows)


def test_propose_reads_uncertain_cases_per_group(db, filled):
    with db.session() as s:
        found = propose(s, since=date(2024, 12, 1))
    assert [(p.topic_group, p.size) for p in found] == [("ЖКХ", 5), ("ЖКХ", 4)]
    assert found[0].example_case_ids == filled[:5]
    assert "собаки" in found[1].top_terms
    with db.session() as s:
        everything = propose(s)
        older = propose(s, until=date(2024, 11, 1))
    assert {p.topic_group for p in everything} == {"ЖКХ", "без группы"}
    assert [(p.topic_group, p.size) for p in older] == [("без группы", 4)]
    assert isinstance(older[0], Proposal)


def test_cli_prints_terms_and_ids_not_texts(db, filled, database_url, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("OTKLIK_CONFIG", str(tmp_path / "none.toml"))
    assert main(["categories", "propose", "--since", "2024-12-01", "--json"]) == 0
    out = capsys.readouterr().out
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["size"] for r in rows] == [5, 4]
    assert all(t not in out for t in SNOW + DOGS)
    assert main(["categories", "propose", "--since", "2024-12-01"]) == 0
    assert "ЖКХ: 5" in capsys.readouterr().out
    assert main(["categories", "propose", "--since", "2030-01-01"]) == 0
    assert "нет" in capsys.readouterr().out
    assert main(["categories", "propose", "--since", "вчера"]) == 2
    assert "--since" in capsys.readouterr().err
