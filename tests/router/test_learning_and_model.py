from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from otklik.exceptions import ConfigError
from router.learning import read_history, record_correction
from router.model import FORMAT, GroupChoice, TopicModel, card_path
from router.rubricator import GROUPS, Rubricator, load_rubricator


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_history_from_csv_and_jsonl(tmp_path, history_rows):
    jsonl = write_jsonl(tmp_path / "h.jsonl", history_rows)
    csv_path = tmp_path / "h.csv"
    with csv_path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, ["text", "topic_group", "topic", "executor"])
        w.writeheader()
        w.writerows(history_rows)
    a, b = read_history(jsonl), read_history(csv_path)
    assert [r.text for r in a] == [r.text for r in b] == [r["text"] for r in history_rows]
    assert a[0].topic is None and b[0].topic is None  # an empty CSV cell is no topic


def test_coarse_categories_list_alternatives(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("text,topic_group\nфонари не горят,ЖКХ|Благоустройство\n", encoding="utf-8")
    assert read_history(path)[0].topic_group == ("ЖКХ", "Благоустройство")


@pytest.mark.parametrize(
    "content, suffix, message",
    [
        (
            '{"text": "яма", "topic_group": "Дороги"}\n{"text": "x", "topic_group": "Дорожки"}\n',
            ".jsonl",
            r"h.jsonl:2: topic_group: .*not one of the 26",
        ),
        ('{"text": "яма", "topic_group": "Дороги"}\nnot json\n', ".jsonl", r"h.jsonl:2: not JSON"),
        ('{"text": "", "topic_group": "Дороги"}\n', ".jsonl", r"h.jsonl:1: text"),
        ("text,group\nяма,Дороги\n", ".csv", r"h.csv:1: CSV header lacks \['topic_group'\]"),
        ("text,topic_group\nяма,Дороги\nлюк,\n", ".csv", r"h.csv:3: topic_group"),
    ],
)
def test_bad_history_names_the_line(tmp_path, content, suffix, message):
    path = tmp_path / f"h{suffix}"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        read_history(path)


def test_corrections_append_training_rows(tmp_path):
    path = tmp_path / "var" / "corrections.jsonl"
    record_correction(
        path, "Во дворе яма", "Благоустройство", "Тротуары и пешеходные дорожки", "blagoustroystvo"
    )
    record_correction(path, "Нет газа", "Газ и топливо", None, None)
    rows = read_history(path)
    assert [(r.text, r.topic_group, r.executor) for r in rows] == [
        ("Во дворе яма", ("Благоустройство",), "blagoustroystvo"),
        ("Нет газа", ("Газ и топливо",), None),
    ]
    assert json.loads(path.read_text(encoding="utf-8").splitlines()[0])["source"] == "curator_correction"
    with pytest.raises(ValueError):
        record_correction(path, "текст", "Не группа", None, None)


def test_the_group_most_likely_acceptable_wins_and_ties_go_to_the_rules_then_the_listing():
    choice = GroupChoice(["Дороги", "ЖКХ|Благоустройство", "Экология|Благоустройство"])
    assert sorted(choice.groups) == sorted(["Дороги", "ЖКХ", "Благоустройство", "Экология"])
    rules = np.zeros((4, len(GROUPS)))  # the rules' points per group, as Featurizer.rule_groups gives
    rules[0, GROUPS.index("Благоустройство")] = 2.0  # «не горят фонари во дворе»
    rules[1, GROUPS.index("ЖКХ")] = 1.5  # «течёт крыша в подъезде»
    rules[1, GROUPS.index("Благоустройство")] = 0.5
    proba = np.array(
        [
            [0.1, 0.9, 0.0],  # ЖКХ and Благоустройство tie at 0.9: the rules say Благоустройство
            [0.1, 0.9, 0.0],  # … and here ЖКХ
            [0.1, 0.9, 0.0],  # the rules are silent: the first listed
            [0.4, 0.3, 0.3],  # Дороги is the likeliest class, Благоустройство the likeliest group
        ]
    )
    best, confidence = choice(proba, rules)
    assert [choice.groups[g] for g in best] == ["Благоустройство", "ЖКХ", "ЖКХ", "Благоустройство"]
    assert confidence.tolist() == pytest.approx([0.9, 0.9, 0.9, 0.6])


def test_a_coarse_archive_trains_one_class_per_list_and_routes_inside_it(history_rows):
    """ЖКХ and waste rows archived under one coarse category (listed in either order) make one
    class; the routed group is still the one the text is about."""
    coarse = ("ЖКХ", "Мусор/Свалки/ТКО")
    labels = [
        (coarse if i % 2 else coarse[::-1]) if r["topic_group"] in coarse else r["topic_group"]
        for i, r in enumerate(history_rows)
    ]
    model = TopicModel.train([r["text"] for r in history_rows], labels)
    assert set(model.card["classes"]) == {
        "Дороги",
        "Образование",
        "|".join(labels[next(i for i, lbl in enumerate(labels) if isinstance(lbl, tuple))]),
    }
    assert model.card["cv_accuracy"] > 0.8
    predicted = model.predict(["Батареи холодные, отопления нет", "Мусор не вывозят, контейнеры полные"])
    assert [g for g, _ in predicted] == ["ЖКХ", "Мусор/Свалки/ТКО"]
    assert all(c > 0.5 for _, c in predicted)


@pytest.fixture(scope="module")
def trained(history_rows) -> TopicModel:
    return TopicModel.train([r["text"] for r in history_rows], [r["topic_group"] for r in history_rows])


def test_model_learns_the_archive(trained):
    unseen = [
        "На дороге яма, асфальт весь в выбоинах",
        "Батареи холодные, отопления нет",
        "Мусор не вывозят, контейнеры полные",
        "Уроки в школе отменяют, учителей нет",
    ]
    predicted = trained.predict(unseen)
    assert [g for g, _ in predicted] == ["Дороги", "ЖКХ", "Мусор/Свалки/ТКО", "Образование"]
    assert all(0 < c <= 1 for _, c in predicted)
    assert trained.card["rows"] == 60 and trained.card["cv_accuracy"] > 0.8
    assert set(trained.card["classes"]) == {"Дороги", "ЖКХ", "Мусор/Свалки/ТКО", "Образование"}


def test_model_confidence_is_lower_for_a_text_it_cannot_place(trained):
    (_, sure), (_, unsure) = trained.predict(
        ["Огромные ямы на дороге, асфальт разбит", "Здравствуйте, спасибо"]
    )
    assert sure > unsure


def test_artifact_round_trip_and_integrity(tmp_path, trained):
    path = trained.save(tmp_path / "m.joblib")
    card = json.loads(card_path(path).read_text(encoding="utf-8"))
    assert card["format"] == FORMAT and len(card["sha256"]) == 64
    assert path.stat().st_size < 5_000_000  # the word vectors are referenced, not pickled
    again = TopicModel.load(path)
    texts = ["Яма на дороге", "Протекает крыша"]
    assert again.predict(texts) == trained.predict(texts)

    path.write_bytes(path.read_bytes() + b"tampered")
    with pytest.raises(ConfigError, match="sha256 differs"):
        TopicModel.load(path)
    card_path(path).unlink()
    with pytest.raises(ConfigError, match="no model card"):
        TopicModel.load(path)
    with pytest.raises(ConfigError, match="not found"):
        TopicModel.load(tmp_path / "missing.joblib")


def test_a_model_of_the_previous_format_must_be_retrained(tmp_path, trained):
    path = trained.save(tmp_path / "m.joblib")
    card = json.loads(card_path(path).read_text(encoding="utf-8"))
    card["format"] = "otklik-router-model/1"
    card_path(path).write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ConfigError, match="retrain the model"):
        TopicModel.load(path)


def test_one_group_is_not_enough_to_learn():
    with pytest.raises(ConfigError, match="at least two topic groups"):
        TopicModel.train(["яма", "ямы"], ["Дороги", "Дороги"])


def test_router_uses_the_model_and_its_threshold(tmp_path, trained):
    from router.classifier import Router

    path = trained.save(tmp_path / "m.joblib")
    router = Router.load(None, path)
    r = router.route("На дороге яма, асфальт весь в выбоинах")
    assert r.topic_group == "Дороги" and "model" in r.reasons
    assert r.topic in {t.name for t in router.rubricator.topics if t.group == "Дороги"}
    assert r.needs_manual == (r.confidence < router.profile.min_model_confidence)


def test_stratify_pools_classes_too_small_for_the_folds():
    from router.model import stratify

    labels = ["a"] * 6 + ["b"] * 3 + ["c", "d", "e"]
    assert stratify(labels, 3) == labels[:9] + ["_rare"] * 3  # c, d, e pooled: three, enough
    labels = ["a"] * 6 + ["b"] * 3 + ["c"]
    assert stratify(labels, 3) == labels[:9] + ["a"]  # a pool of one rides with the largest class


def test_the_router_hands_its_rule_scores_to_a_model_trained_with_the_same_rules(tmp_path, trained):
    from router.classifier import Router

    router = Router.load(None, trained.save(tmp_path / "m.joblib"))
    assert router._model_shares_rules
    texts = ["На дороге яма, асфальт весь в выбоинах", "Не вывозят мусор", "Здравствуйте", ""]
    shared = router.route_many(texts)
    router._model_shares_rules = False  # the model scores the texts with its own copy of the rules
    assert router.route_many(texts) == shared
    assert trained.predict([]) == []


def test_a_model_keeps_its_rules_when_the_rubricator_changes(tmp_path, trained):
    from router.classifier import Router

    base = Router.load()
    data = base.rubricator.data.model_copy(deep=True)
    data.groups[0].topics[0].keywords.append("зюзюка")
    edited = Router(Rubricator(data), base.executors, base.gazetteer, base.importance, model=trained)
    assert not edited._model_shares_rules
    assert trained.rubricator_data == load_rubricator().data
    ((group, _),) = trained.predict(["На дороге яма"])
    assert edited.classify("На дороге яма").topic_group == group
