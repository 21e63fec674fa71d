import json
import subprocess
import sys
from datetime import UTC, date, datetime

import pytest

from router.classifier import Router
from router.executors import load_executors
from router.rubricator import GROUPS, load_rubricator

router = Router.load()


def test_rubricator_has_exactly_the_26_groups():
    assert sorted(load_rubricator().groups) == sorted(GROUPS)


@pytest.mark.parametrize(
    "text,group",
    [
        ("На улице Садовой огромные ямы на дороге, асфальт разбит", "Дороги"),
        ("Во дворе не горят фонари, вечером темно", "Благоустройство"),
        ("Холодные батареи в квартире, управляющая компания молчит", "ЖКХ"),
        ("Мусор с контейнерной площадки не вывозят неделю", "Мусор/Свалки/ТКО"),
        ("Автобус до райцентра отменили, как добираться", "Общественный транспорт"),
        ("В школе нет учителя математики", "Образование"),
        ("Не могу записаться к терапевту в поликлинику", "Здравоохранение/Медицина"),
        ("Пахнет газом у трубы возле дома", "Газ и топливо"),
        ("В деревне нет мобильной связи и интернета", "Связь и телевидение"),
    ],
)
def test_rules_route_typical_messages(text, group):
    r = router.route(text, when=datetime(2026, 1, 15, tzinfo=UTC))
    assert r.topic_group == group and not r.needs_manual
    assert r.executors


def test_unsure_goes_to_the_curator():
    assert router.route("Спасибо").needs_manual


@pytest.mark.parametrize(
    "text,reason",
    [
        ("В доме нет отопления, дети мёрзнут", "no_heat"),
        ("Сильный запах газа в подъезде", "gas"),
        ("Обрушилась часть крыши над подъездом", "collapse"),
        ("Весь посёлок без света третий день", "no_power"),
    ],
)
def test_high_importance(text, reason):
    r = router.route(text, when=datetime(2026, 1, 15, tzinfo=UTC))
    assert r.importance == "high" and reason in r.reasons


def test_heat_is_an_emergency_in_winter_only():
    assert router.route("нет тепла в квартире", when=datetime(2026, 1, 15, tzinfo=UTC)).importance == "high"
    assert router.route("нет тепла в квартире", when=datetime(2026, 7, 15, tzinfo=UTC)).importance == "normal"


def test_location_from_gazetteer():
    r = router.route("В Бергуле на ул. Ленина, д. 5 нет света")
    assert [loc.name for loc in r.location] == ["село Бергуль", "ул. Ленина, д. 5"]


def test_substitute_when_absent_and_after_leaving(tmp_path):
    path = tmp_path / "executors.yaml"
    path.write_text(
        """departments:
  - {id: dorogi, name: Дороги, groups: [Дороги], substitute: zhkh,
     absent: [{from: 2026-01-10, to: 2026-01-20, reason: leave}]}
  - {id: zhkh, name: ЖКХ, groups: [ЖКХ], leaves_on: 2026-03-01, substitute: dorogi}
""",
        encoding="utf-8",
    )
    ex = load_executors(str(path))
    assert ex.for_topic("Дороги", None, date(2026, 1, 9)) == ["dorogi"]
    assert ex.for_topic("Дороги", None, date(2026, 1, 15)) == ["zhkh"]
    assert ex.for_topic("ЖКХ", None, date(2026, 3, 2)) == ["dorogi"]


def test_bad_data_file_names_the_line(tmp_path):
    from otklik.exceptions import ConfigError

    path = tmp_path / "executors.yaml"
    path.write_text("departments:\n  - {id: a, name: A, substitute: ghost}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="executors.yaml:1: .*substitute 'ghost' is not a department"):
        load_executors(str(path))


def test_route_cli_and_training(tmp_path):
    history = tmp_path / "history.jsonl"
    rows = [{"text": f"яма на дороге номер {i}", "topic_group": "Дороги"} for i in range(10)] + [
        {"text": f"нет горячей воды в доме {i}", "topic_group": "ЖКХ"} for i in range(10)
    ]
    history.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    model = tmp_path / "m.joblib"
    r = subprocess.run(
        [sys.executable, "-m", "otklik", "router", "train", "--history", str(history), "--out", str(model)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    lines = json.dumps({"id": 1, "text": "опять яма на дороге"}, ensure_ascii=False) + "\n{bad\n"
    r = subprocess.run(
        [sys.executable, "-m", "otklik", "route", "--model", str(model)],
        input=lines,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = json.loads(r.stdout.splitlines()[0])
    assert out["topic_group"] == "Дороги" and 0 < out["confidence"] <= 1
    assert set(out) == {
        "id",
        "topic_group",
        "topic",
        "confidence",
        "importance",
        "location",
        "executors",
        "needs_manual",
    }
    assert r.returncode == 1 and "line 2" in r.stderr


def test_corrections_become_training_data(tmp_path):
    from router.learning import read_history, record_correction

    path = tmp_path / "corrections.jsonl"
    record_correction(
        path,
        "Сломана горка во дворе",
        "Благоустройство",
        "Детские и спортивные площадки во дворах",
        "blagoustroystvo",
    )
    assert read_history(path)[0].topic_group == ("Благоустройство",)
