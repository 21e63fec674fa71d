"""`otklik forecast`: JSON lines with low <= expected <= high, --from and --horizon respected, a bad
CSV a one-line error with exit 2 and no traceback; the database as the default history."""

import csv
import json
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from otklik.cli import main

PROFILE = [1.0, 0.9, 0.9, 0.85, 0.8, 0.4, 0.3]


@pytest.fixture(autouse=True)
def _no_config(monkeypatch, tmp_path):
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("OTKLIK_CONFIG", str(tmp_path / "none.toml"))


def write_history(path, first=date(2024, 1, 15), days=70, groups=False):
    rng = np.random.default_rng(3)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "created", "topic_group", "note"])
        n = 0
        for i in range(days):
            d = first + timedelta(days=i)
            for k in range(int(rng.poisson(12 * PROFILE[d.weekday()]))):
                n += 1
                group = "ЖКХ" if k % 3 else "Дороги"
                w.writerow([n, f"{d.isoformat()}T{9 + k % 10:02d}:15:00", group, "не читается"])
    return first + timedelta(days=days - 1)


def lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_forecast_from_csv(tmp_path, capsys):
    last = write_history(tmp_path / "h.csv")
    assert main(["forecast", "--history", str(tmp_path / "h.csv"), "--horizon", "10"]) == 0
    rows = lines(capsys.readouterr().out)
    assert [r["date"] for r in rows] == [(last + timedelta(days=i + 1)).isoformat() for i in range(10)]
    for r in rows:
        assert set(r) == {"date", "expected", "low", "high"}
        assert 0 <= r["low"] <= r["expected"] <= r["high"]
    assert main(["forecast", "--history", str(tmp_path / "h.csv"), "--horizon", "3", "--from", "2024-06-03"]) == 0
    assert [r["date"] for r in lines(capsys.readouterr().out)] == ["2024-06-03", "2024-06-04", "2024-06-05"]


def test_from_inside_the_history_uses_only_what_came_before(tmp_path, capsys):
    write_history(tmp_path / "h.csv", days=70)  # 15 January .. 24 March 2024
    with open(tmp_path / "h.csv", encoding="utf-8") as f:
        header, *body = f.read().splitlines()
    (tmp_path / "cut.csv").write_text("\n".join([header] + [r for r in body if r.split(",")[1] < "2024-03-04"]),
                                      encoding="utf-8")
    assert main(["forecast", "--history", str(tmp_path / "h.csv"), "--horizon", "7", "--from", "2024-03-04"]) == 0
    inside = capsys.readouterr().out
    assert main(["forecast", "--history", str(tmp_path / "cut.csv"), "--horizon", "7"]) == 0
    assert capsys.readouterr().out == inside
    assert lines(inside)[0]["date"] == "2024-03-04"
    assert main(["forecast", "--history", str(tmp_path / "h.csv"), "--from", "2024-01-01"]) == 2
    assert "no history before 2024-01-01" in capsys.readouterr().err


def test_forecast_by_group(tmp_path, capsys):
    write_history(tmp_path / "h.csv")
    assert main(["forecast", "--history", str(tmp_path / "h.csv"), "--horizon", "7", "--by-group"]) == 0
    rows = lines(capsys.readouterr().out)
    overall = [r for r in rows if "group" not in r]
    assert len(overall) == 7
    by = {g: [r for r in rows if r.get("group") == g] for g in ("ЖКХ", "Дороги")}
    assert all(len(v) == 7 for v in by.values()) and len(rows) == 21
    for i in range(7):  # the groups share the whole
        assert by["ЖКХ"][i]["expected"] + by["Дороги"][i]["expected"] == pytest.approx(overall[i]["expected"],
                                                                                       rel=0.1)


@pytest.mark.parametrize("content, message", [
    ("id,when\n1,2024-01-01\n", "no 'created' column"),
    ("created\n2024-01-01T10:00:00\nвчера вечером\n", "line 3"),
    ("created\n", "no rows"),
    ("created\n2024-01-01\n2024-01-02\n", "at least 21"),
])
def test_bad_csv_is_a_clear_error(tmp_path, capsys, content, message):
    (tmp_path / "bad.csv").write_text(content, encoding="utf-8")
    assert main(["forecast", "--history", str(tmp_path / "bad.csv"), "--horizon", "7"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and "вчера" not in err


def test_bad_arguments(tmp_path, capsys):
    write_history(tmp_path / "h.csv", days=30)
    assert main(["forecast", "--history", str(tmp_path / "missing.csv"), "--horizon", "7"]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["forecast", "--history", str(tmp_path / "h.csv"), "--horizon", "40"]) == 2
    assert main(["forecast", "--history", str(tmp_path / "h.csv"), "--from", "03.06.2024"]) == 2
    assert "--from" in capsys.readouterr().err
    (tmp_path / "latin1.csv").write_bytes("created,x\n2024-01-01,\xe9\xe9\n".encode("latin-1"))
    assert main(["forecast", "--history", str(tmp_path / "latin1.csv")]) == 2
    assert "UTF-8" in capsys.readouterr().err


def test_forecast_from_the_database(db, database_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    from storage.tables import CaseRow, MessageRow

    first = datetime(2024, 3, 4, 9, tzinfo=UTC)
    with db.session() as s:
        for i in range(35):
            for k in range(3 if (first + timedelta(days=i)).weekday() < 5 else 1):
                m = MessageRow(source="tg", platform="telegram", external_id=f"{i}-{k}", thread={}, author_id="1",
                               text="", created_at=first + timedelta(days=i, minutes=k), attachments=[], raw={})
                s.add(m)
                s.flush()
                s.add(CaseRow(message_id=m.id, profile="p", channel="c", state="new", executors=[], location=[],
                              record={}, topic_group="ЖКХ" if k else None))
    assert main(["forecast", "--horizon", "7", "--by-group"]) == 0
    rows = lines(capsys.readouterr().out)
    overall = [r for r in rows if "group" not in r]
    assert overall[0]["date"] == (first + timedelta(days=35)).date().isoformat()
    assert {r.get("group") for r in rows} == {None, "ЖКХ", "без группы"}
    weekday = [r["expected"] for r in overall if date.fromisoformat(r["date"]).weekday() < 5]
    weekend = [r["expected"] for r in overall if date.fromisoformat(r["date"]).weekday() >= 5]
    assert min(weekday) > 2 * max(weekend)
