from __future__ import annotations

import csv
import io
import json
import sys

import pytest

from otklik.cli import main


def run(argv: list[str], stdin: str, monkeypatch, capsys) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8")), encoding="utf-8"))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_route_jsonl(monkeypatch, capsys):
    lines = [
        {"id": 1, "text": "Огромная яма на дороге в Бергуле"},
        {"id": "b", "text": "<p>Не вывозят мусор&nbsp;на ул. Садовой, 4</p>", "extra": "ignored"},
    ]
    code, out, err = run(
        ["route"], "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), monkeypatch, capsys
    )
    assert code == 0
    first, second = (json.loads(x) for x in out.splitlines())
    assert set(first) == {
        "id",
        "topic_group",
        "topic",
        "confidence",
        "importance",
        "location",
        "executors",
        "needs_manual",
    }
    assert (first["id"], first["topic_group"], first["location"]) == (1, "Дороги", ["село Бергуль"])
    assert (second["id"], second["topic_group"], second["location"]) == (
        "b",
        "Мусор/Свалки/ТКО",
        ["ул. Садовая, д. 4"],
    )


def test_route_names_malformed_lines(monkeypatch, capsys):
    stdin = '{"id": 1, "text": "яма"}\n\n{"id": 2}\nnot json\n{"id": 3, "text": "мусор"}\n'
    code, out, err = run(["route"], stdin, monkeypatch, capsys)
    assert code == 1
    assert [json.loads(x)["id"] for x in out.splitlines()] == [1, 3]
    assert "line 3: text: Field required" in err and "line 4:" in err and "Invalid JSON" in err


def test_unknown_profile_is_one_clear_line(monkeypatch, capsys):
    code, _, err = run(["route", "--profile", "nowhere"], "", monkeypatch, capsys)
    assert code == 2 and "unknown router profile 'nowhere'" in err


def test_train_then_route_with_the_model(tmp_path, monkeypatch, capsys, history_rows):
    history = tmp_path / "history.jsonl"
    history.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in history_rows), encoding="utf-8"
    )
    model = tmp_path / "model.joblib"
    code, out, _ = run(
        ["router", "train", "--history", str(history), "--out", str(model)], "", monkeypatch, capsys
    )
    assert code == 0 and "trained on 60 messages: 4 classes, 4 topic groups" in out and model.exists()
    code, out, _ = run(
        ["route", "--model", str(model)],
        '{"id": 7, "text": "Холодные батареи, нет отопления"}\n',
        monkeypatch,
        capsys,
    )
    assert code == 0 and json.loads(out)["topic_group"] == "ЖКХ"


def test_train_folds_in_the_curators_corrections(tmp_path, monkeypatch, capsys, history_rows):
    from router.learning import record_correction
    from router.model import TopicModel

    history = tmp_path / "history.jsonl"
    history.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in history_rows), encoding="utf-8"
    )
    corrections = tmp_path / "router_corrections.jsonl"
    # A group the archive never had: only the corrections can teach it.
    for text in ("Сломаны качели на детской площадке", "Детская площадка разрушена, горка сломана"):
        record_correction(corrections, text, "Благоустройство", None, "blagoustroystvo")
    model = tmp_path / "model.joblib"
    argv = ["router", "train", "--history", str(history), "--out", str(model)]
    code, out, _ = run([*argv, "--corrections", str(corrections), "--corrections", str(tmp_path / "none.jsonl")],
                       "", monkeypatch, capsys)
    assert code == 0 and "trained on 62 messages: 5 classes" in out and "2 curators' corrections" in out
    trained = TopicModel.load(model)
    assert "Благоустройство" in trained.groups and trained.card["corrections"] == 2


def test_train_reports_a_bad_history(tmp_path, monkeypatch, capsys):
    history = tmp_path / "h.csv"
    history.write_text("text,topic_group\nяма,Дорожки\n", encoding="utf-8")
    code, _, err = run(["router", "train", "--history", str(history)], "", monkeypatch, capsys)
    assert code == 2 and "h.csv:2: topic_group" in err


def kursk_like(tmp_path, make_history):
    """A tiny folder in the evaluation layout, from the synthetic history (not real appeals)."""
    category = {"Дороги": "0", "ЖКХ": "3", "Мусор/Свалки/ТКО": "16", "Образование": "7"}
    folder = tmp_path / "eval" / "appeals"
    folder.mkdir(parents=True)
    with (folder / "kursk_2022_categories.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "text", "topic", "executor", "category_id"])
        for n, r in enumerate(make_history(per_group=10, seed=11)):
            w.writerow([n, f"<p>{r['text']}&nbsp;</p>", "", "", category[r["topic_group"]]])
        w.writerow([999, "тестовая строка", "", "", "12"])  # the test category is dropped
    return tmp_path / "eval"


def test_eval_router_on_a_folder(tmp_path, monkeypatch, capsys, make_history):
    data = kursk_like(tmp_path, make_history)
    code, out, _ = run(
        ["eval", "router", "--data", str(data), "--folds", "2", "--json"], "", monkeypatch, capsys
    )
    assert code == 0
    res = json.loads(out)
    assert res["rules"]["n"] == 40 and res["rules"]["accuracy"] >= 0.9
    assert res["model_2fold_cv"]["n"] == 40 and res["model_2fold_cv"]["accuracy"] >= 0.8
    assert set(res["rules"]["recall_by_group"]) == {"Дороги", "ЖКХ", "Экология", "Образование"}
    code, out, _ = run(["eval", "router", "--data", str(data), "--rules-only"], "", monkeypatch, capsys)
    assert code == 0 and out.startswith("rules: accuracy") and "model" not in out


def test_eval_router_measures_the_plain_baseline_on_request(tmp_path, monkeypatch, capsys, make_history):
    data = kursk_like(tmp_path, make_history)
    args = ["eval", "router", "--data", str(data), "--folds", "2", "--rules-only", "--baseline"]
    code, out, _ = run([*args, "--json"], "", monkeypatch, capsys)
    baseline = json.loads(out)["baseline_tfidf_logreg_2fold_cv"]
    assert code == 0 and baseline["n"] == 40 and baseline["accuracy"] >= 0.8
    assert set(baseline["recall_by_group"]) == {"Дороги", "ЖКХ", "Экология", "Образование"}
    code, out, _ = run(args, "", monkeypatch, capsys)
    assert code == 0 and "\nbaseline_tfidf_logreg_2fold_cv: accuracy" in out


def test_eval_router_over_several_fold_seeds(tmp_path, monkeypatch, capsys, make_history):
    data = kursk_like(tmp_path, make_history)
    args = ["eval", "router", "--data", str(data), "--folds", "2", "--seeds", "0,1"]
    code, out, _ = run([*args, "--json"], "", monkeypatch, capsys)
    res = json.loads(out)
    seeds = res["model_over_seeds"]
    assert code == 0 and seeds["seeds"] == [0, 1] and len(seeds["accuracy"]) == 2
    assert seeds["accuracy"][0] == res["model_2fold_cv"]["accuracy"]
    assert seeds["min"] <= seeds["mean"] <= seeds["max"]
    code, out, _ = run(args, "", monkeypatch, capsys)
    assert code == 0 and "model over fold seeds [0, 1]: mean accuracy" in out
    code, _, err = run([*args[:-1], "0,x"], "", monkeypatch, capsys)
    assert code == 2 and "--seeds" in err


def test_eval_router_without_data(tmp_path, monkeypatch, capsys):
    code, _, err = run(["eval", "router", "--data", str(tmp_path)], "", monkeypatch, capsys)
    assert code == 2 and "kursk_2022_categories.csv" in err


def test_explain(monkeypatch, capsys):
    code, out, _ = run(["router", "explain", "Запах газа в подъезде"], "", monkeypatch, capsys)
    res = json.loads(out)
    assert code == 0 and res["topic_group"] == "Газ и топливо" and res["importance"] == "high"
    assert "Газ и топливо" in res["keywords"]


@pytest.mark.parametrize(
    "argv", [["route", "--help"], ["router", "train", "--help"], ["eval", "router", "--help"]]
)
def test_help(argv, monkeypatch, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
