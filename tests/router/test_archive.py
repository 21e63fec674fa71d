"""A model trained on an archive with `topic` and `executor` columns answers in the archive's own
words, and a district named in the text decides a territorial executor. Texts written for these tests."""

from __future__ import annotations

import csv
import io
import json
import random
import sys

import pytest

from otklik.cli import main
from router.model import TopicModel
from router.territories import Territories, place_stem

CITY = "Администрация города Заозёрска"
ROADS = "Комитет дорожного хозяйства города Заозёрска"
HEAT = "Государственная жилищная инспекция области"
BEREZ = "Администрация Берёзовского района"
LIPKI = "Администрация Липецкого района"
TEMPLATES = [
    ("Дороги", "Ямы на дороге", ROADS, "На улице {street} яма на дороге, асфальт разбит, колёса пробиты"),
    ("Дороги", "Ямы на дороге", ROADS, "Выбоины на проезжей части {street}, машины ломаются"),
    ("ЖКХ", "Нет отопления", HEAT, "В доме {house} на {street} холодные батареи, отопления нет"),
    ("ЖКХ", "Нет отопления", HEAT, "Батареи ледяные, управляющая компания не включает тепло, дом {house}"),
    ("Благоустройство", "Аварийные деревья", CITY, "Во дворе дома {house} аварийное дерево, ветки падают"),
    ("Благоустройство", "Аварийные деревья", CITY, "Сухое дерево у подъезда на {street} вот-вот упадёт"),
]
# The same complaint from two districts: only the place tells the two administrations apart.
RURAL = [
    (BEREZ, "В селе Берёзовка {what}", "Берёзовском районе"),
    (LIPKI, "В деревне Липки {what}", "Липецком районе"),
]
RURAL_WHAT = ["не горят фонари на улице", "разбита дорога к школе", "не вывозят мусор"]


def archive(seed: int = 1, n: int = 12) -> list[dict]:
    rnd = random.Random(seed)
    rows = []
    for group, topic, executor, template in TEMPLATES:
        for _ in range(n):
            text = template.format(street=rnd.choice(["Мира", "Ленина", "Садовой"]), house=rnd.randint(1, 50))
            rows.append({"text": text, "topic_group": group, "topic": topic, "executor": executor})
    for executor, template, district in RURAL:
        for _ in range(n):
            text = template.format(what=rnd.choice(RURAL_WHAT)) + f" ({district})"
            rows.append({"text": text, "topic_group": "Благоустройство", "topic": "Сельские жалобы", "executor": executor})
    rnd.shuffle(rows)
    return rows


@pytest.fixture(scope="module")
def trained() -> TopicModel:
    rows = archive()
    return TopicModel.train(
        [r["text"] for r in rows],
        [r["topic_group"] for r in rows],
        topics=[r["topic"] for r in rows],
        executors=[r["executor"] for r in rows],
    )


def test_the_model_answers_with_the_archives_topic_and_executor(trained):
    got = trained.predict_all(["Огромная яма на дороге по улице Мира", "Холодные батареи в доме 5, нет тепла"])
    assert [(g, t, e) for g, _, t, e in got] == [
        ("Дороги", "Ямы на дороге", [ROADS]),
        ("ЖКХ", "Нет отопления", [HEAT]),
    ]
    assert trained.card["archive"] == {"topic": 4, "executor": 5}


def test_a_district_named_in_the_text_decides_the_territorial_executor(trained):
    got = trained.predict_archive(["В Липецком районе не горят фонари", "В Берёзовском районе не горят фонари"])
    assert [e[0] for _, e in got] == [LIPKI, BEREZ]


def test_place_stems_of_territorial_executors():
    assert place_stem(BEREZ) == "березов" and place_stem("Администрация города Щигры") == "щигр"
    assert place_stem("Администрация г. Обояни") == "обоян"
    assert place_stem(ROADS) is None and place_stem(HEAT) is None


def test_a_stem_that_mostly_names_streets_is_not_a_territory():
    executors = [BEREZ, BEREZ, CITY, CITY, CITY, "Администрация Советского района"]
    tokens = [["березовка"], ["березовском"], ["советская", "улица"], ["советской"], ["советская"], ["советском"]]
    t = Territories.learn(executors, tokens)
    assert t is not None and set(t.stems) == {"березов"}
    assert t.decide(["в", "березовке"], [CITY]) == [CITY]  # not a territorial choice: it stands
    assert t.decide(["в", "березовке"], ["Администрация Советского района"]) == ["Администрация Советского района"]


def test_without_archive_columns_the_model_answers_as_before(history_rows):
    model = TopicModel.train([r["text"] for r in history_rows], [r["topic_group"] for r in history_rows])
    assert model.heads == {} and model.predict_archive(["яма на дороге"]) == [(None, [])]


def run(argv, stdin, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8")), encoding="utf-8"))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_train_and_route_in_the_archives_words(tmp_path, monkeypatch, capsys):
    history = tmp_path / "archive.csv"
    with history.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, ["text", "topic_group", "topic", "executor"])
        w.writeheader()
        w.writerows(archive())
    model = tmp_path / "m.joblib"
    code, out, _ = run(["router", "train", "--history", str(history), "--out", str(model)], "", monkeypatch, capsys)
    assert code == 0 and "4 archive topics, 5 archive executors" in out
    code, out, _ = run(
        ["route", "--model", str(model)], '{"id": 1, "text": "Яма на дороге на улице Ленина"}\n', monkeypatch, capsys
    )
    routed = json.loads(out)
    assert code == 0 and routed["topic_group"] == "Дороги"
    assert routed["topic"] == "Ямы на дороге" and routed["executors"] == [ROADS]
    assert "rubricator_topic" in routed and "departments" in routed


def test_eval_router_reports_archive_accuracy_beside_the_svm_baseline(tmp_path, monkeypatch, capsys):
    category = {"Дороги": "0", "ЖКХ": "3", "Благоустройство": "3"}
    folder = tmp_path / "eval" / "appeals"
    folder.mkdir(parents=True)
    with (folder / "kursk_2022_categories.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "text", "topic", "executor", "category_id"])
        for n, r in enumerate(archive(seed=2, n=8)):
            w.writerow([n, r["text"], r["topic"], r["executor"], category[r["topic_group"]]])
    args = ["eval", "router", "--data", str(tmp_path / "eval"), "--folds", "2"]
    code, out, _ = run([*args, "--json"], "", monkeypatch, capsys)
    res = json.loads(out)
    model, baseline = res["model_2fold_cv"], res["baseline_tfidf_svm_2fold_cv"]
    assert code == 0 and model["executor_accuracy"] >= 0.8 and model["topic_accuracy"] >= 0.8
    assert baseline["executor_accuracy"] is not None and baseline["topic_accuracy"] is not None
    code, out, _ = run(args, "", monkeypatch, capsys)
    assert code == 0 and "the archive's own topic" in out and "executor" in out
    code, out, _ = run([*args, "--seeds", "0,1", "--json"], "", monkeypatch, capsys)
    seeds = json.loads(out)["model_over_seeds"]
    assert code == 0 and len(seeds["executor"]["values"]) == 2 and len(seeds["topic"]["values"]) == 2
    assert seeds["executor"]["mean"] == round(sum(seeds["executor"]["values"]) / 2, 4)


def _stem_matrix():
    """Three executors' word counts (TF-IDF-like, non-negative) and two extra columns the Bayes
    must leave alone, as the form block after the stems."""
    import numpy as np
    import scipy.sparse as sp

    rnd = np.random.default_rng(3)
    labels = [CITY, ROADS, HEAT] * 10
    rows = []
    for k, label in enumerate(labels):
        row = rnd.random(8) * 0.2
        row[[CITY, ROADS, HEAT].index(label) * 2] += 1.0  # each executor has its own words
        rows.append(np.concatenate([row, [k % 2, 1.0]]))
    return sp.csr_matrix(np.array(rows)), labels


def test_the_executor_head_adds_naive_bayes_to_the_svm_weights():
    import numpy as np
    from sklearn.naive_bayes import ComplementNB
    from sklearn.svm import LinearSVC

    from router.model import NB_ALPHA, with_naive_bayes

    x, labels = _stem_matrix()
    svm = LinearSVC(C=0.1).fit(x, labels)
    blend = with_naive_bayes(svm, x, labels, width=8, weight=0.5)
    nb = ComplementNB(alpha=NB_ALPHA).fit(x[:, :8], labels)
    bayes = np.asarray(x[:, :8] @ nb.feature_log_prob_.T)
    spread = np.mean(np.std(bayes, axis=1))
    margins = np.asarray(x @ blend.coef_.T) + blend.intercept_
    assert np.allclose(margins, svm.decision_function(x) + 0.5 / spread * bayes)
    assert np.array_equal(blend.coef_[:, 8:], svm.coef_[:, 8:])  # the columns after the stems: the SVM's
    assert list(blend.classes_) == list(svm.classes_)


def test_a_heavy_bayes_weight_answers_as_the_bayes_and_none_as_the_svm():
    import numpy as np
    from sklearn.naive_bayes import ComplementNB
    from sklearn.svm import LinearSVC

    from router.model import NB_ALPHA, with_naive_bayes

    x, labels = _stem_matrix()
    x = x.tolil()
    x[0, :8] = [0.3, 0.1, 0.9, 0.0, 0.2, 0.0, 0.0, 0.1]  # a CITY row written with ROADS' words
    x = x.tocsr()
    svm = LinearSVC(C=0.1).fit(x, labels)
    classes = np.array(svm.classes_)

    def answers(weight):
        blend = with_naive_bayes(svm, x, labels, width=8, weight=weight)
        return list(classes[np.argmax(np.asarray(x @ blend.coef_.T) + blend.intercept_, axis=1)])

    assert answers(0.0) == list(svm.predict(x))
    assert answers(1e6) == list(ComplementNB(alpha=NB_ALPHA).fit(x[:, :8], labels).predict(x[:, :8]))


def test_only_the_executor_head_carries_the_bayes(trained):
    from sklearn.svm import LinearSVC

    from router.model import Linear

    assert isinstance(trained.heads["executor"].svm, Linear)
    assert isinstance(trained.heads["topic"].svm, LinearSVC)


def _write_archive(path, rows, category: dict | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "text", "topic", "executor", *(["category_id"] if category else [])])
        for n, r in enumerate(rows):
            w.writerow([n, r["text"], r["topic"], r["executor"], *([category[r["topic_group"]]] if category else [])])


def test_eval_router_trains_once_and_measures_on_unseen_files(tmp_path, monkeypatch, capsys):
    category = {"Дороги": "0", "ЖКХ": "3", "Благоустройство": "3"}
    _write_archive(tmp_path / "dev" / "appeals" / "kursk_2022_categories.csv", archive(seed=2, n=8), category)
    unseen = tmp_path / "unseen" / "appeals"
    _write_archive(unseen / "kursk_2022_categories.csv", archive(seed=3, n=3), category)
    _write_archive(unseen / "kursk_2022_test_nocategory.csv", archive(seed=4, n=2), None)
    (unseen / "kursk_2022_category_map_INFERRED.csv").write_text("category_id,name\n0,Дороги\n", encoding="utf-8")
    args = ["eval", "router", "--train", str(tmp_path / "dev"), "--data", str(tmp_path / "unseen")]
    code, out, _ = run([*args, "--json"], "", monkeypatch, capsys)
    res = json.loads(out)
    assert code == 0 and res["trained_on"] == 8 * len(archive(n=1))
    model, baseline = res["model"], res["baseline_tfidf_svm"]
    assert set(model) == {"pooled", "kursk_2022_categories.csv", "kursk_2022_test_nocategory.csv"}
    assert model["pooled"]["n"] == 3 * 8 + 2 * 8
    # the group is graded only where the file has a category; topic and executor everywhere
    assert model["pooled"]["n_with_category"] == 3 * 8 and "accuracy" not in model["kursk_2022_test_nocategory.csv"]
    assert model["pooled"]["executor_accuracy"] >= 0.8 and model["pooled"]["topic_accuracy"] >= 0.8
    assert baseline["pooled"]["executor_accuracy"] is not None and baseline["pooled"]["accuracy"] is not None
    code, out, _ = run(args, "", monkeypatch, capsys)
    assert code == 0 and "never saw" in out and "kursk_2022_test_nocategory.csv" in out
    # measuring on the rows it trained on is refused, in one line
    code, _, err = run(["eval", "router", "--train", str(tmp_path / "dev"), "--data", str(tmp_path / "dev")], "", monkeypatch, capsys)
    assert code == 2 and "measured on rows it learned" in err
