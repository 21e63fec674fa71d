from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from otklik.datafile import load_model
from otklik.exceptions import ConfigError
from router.executors import Executors, ExecutorsFile, load_executors
from router.importance import ImportanceFile, ImportanceRules, literal_triggers, load_importance, needles_of
from router.location import Gazetteer, GazetteerFile, load_gazetteer


def executors(**extra) -> Executors:
    base = {
        "departments": [
            {
                "id": "zhkh",
                "name": "ЖКХ",
                "substitute": "deputy",
                "absent": [{"from": "2026-03-02", "to": "2026-03-06", "reason": "illness"}],
            },
            {"id": "deputy", "name": "Заместитель", "substitute": "head", "leaves_on": "2026-03-05"},
            {"id": "head", "name": "Глава"},
            {"id": "village", "name": "Сельсовет"},
        ],
        "routes": [
            {"group": "ЖКХ", "executors": ["zhkh"]},
            {"group": "ЖКХ", "location": "Бергуль", "executors": ["village", "zhkh"]},
            {"group": "ЖКХ", "topic": "Отопление", "executors": ["zhkh", "head"]},
            {"group": "ЖКХ", "topic": "Отопление", "location": "Бергуль", "executors": ["village"]},
        ],
        "default": ["head"],
    }
    base.update(extra)
    return Executors(ExecutorsFile.model_validate(base))


def test_most_specific_route_wins():
    ex = executors()
    on = date(2026, 2, 1)
    assert ex.for_topic("ЖКХ", "Водоснабжение", on) == ["zhkh"]
    assert ex.for_topic("ЖКХ", "Водоснабжение", on, ["Бергуль"]) == ["village", "zhkh"]
    assert ex.for_topic("ЖКХ", "Отопление", on) == ["zhkh", "head"]
    assert ex.for_topic("ЖКХ", "Отопление", on, ["Бергуль"]) == ["village"]
    assert ex.for_topic("Дороги", None, on) == ["head"]  # no route: the default


def test_substitutes_follow_the_chain_and_the_leaving_date():
    ex = executors()
    assert ex.assign("ЖКХ", None, date(2026, 3, 3)).executors == ["deputy"]
    a = ex.assign("ЖКХ", None, date(2026, 3, 5))  # the deputy has left that day: the head
    assert a.executors == ["head"] and a.substitutions == ["zhkh->head (illness)"]
    assert ex.assign("ЖКХ", None, date(2026, 3, 7)).executors == ["zhkh"]
    # responsible and co-executor collapse into one when the substitute is already listed
    assert ex.assign("ЖКХ", "Отопление", date(2026, 3, 5)).executors == ["head"]


def test_leaving_within_three_days():
    ex = executors()
    assert [d.id for d in ex.leaving_within(date(2026, 3, 2))] == ["deputy"]
    assert ex.leaving_within(date(2026, 2, 20)) == []


@pytest.mark.parametrize(
    "change, message",
    [
        ({"departments": [{"id": "a", "name": "A", "substitute": "ghost"}]}, "substitute 'ghost'"),
        ({"departments": [{"id": "a", "name": "A"}, {"id": "a", "name": "B"}]}, "listed twice"),
        ({"routes": [{"group": "Дорожки", "executors": ["head"]}]}, "not one of the 26"),
        ({"routes": [{"group": "Дороги", "executors": ["ghost"]}]}, "unknown departments"),
        (
            {
                "departments": [
                    {"id": "a", "name": "A", "absent": [{"from": "2026-02-02", "to": "2026-02-01"}]}
                ]
            },
            "ends",
        ),
    ],
)
def test_invalid_executor_tables_are_rejected(change, message):
    base = {"departments": [{"id": "head", "name": "Глава"}], "routes": []}
    base.update(change)
    with pytest.raises(ValidationError, match=message):
        ExecutorsFile.model_validate(base)


def test_executors_file_errors_name_the_line(tmp_path):
    path = tmp_path / "ex.yaml"
    path.write_text(
        'departments:\n  - id: a\n    name: A\n    absent: [{from: "first of May", to: 2026-01-02}]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"ex.yaml:4: departments.0.absent.0.from"):
        load_model(path, ExecutorsFile)


def test_default_executors_cover_every_group():
    from router.rubricator import GROUPS

    ex = load_executors()
    for group in GROUPS:
        assert ex.for_topic(group, None, date(2026, 1, 1)), group


# -- location --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "В Бергуле на ул. Ленина, д. 5 нет света",
            [("село Бергуль", "settlement"), ("ул. Ленина, д. 5", "address")],
        ),
        ("Прорвало трубу на Советской, 12", [("ул. Советская, д. 12", "address")]),
        ("по улице Школьной яма", [("ул. Школьная", "street")]),
        ("пер. Садовый 3а", [("пер. Садовый, д. 3а", "address")]),
        ("Проспект Мира 10/2", [("пр-т Мира, д. 10/2", "address")]),
        (
            "из Верх-Красноярки в Северное",
            [("село Верх-Красноярка", "settlement"), ("село Северное", "settlement")],
        ),
        ("в северном районе области", []),  # «Северное» only when capitalised
        ("на Мира 10.02 в 9 утра", []),  # a date is not a house number
        ("Ленина без номера дома", []),  # a known street alone is too weak a hint
    ],
)
def test_location_mentions(text, expected):
    assert [(m.name, m.kind) for m in load_gazetteer().find(text)] == expected


def test_mention_offsets_point_at_the_text():
    text = "Яма у дома: ул. Мира, д. 7."
    (m,) = load_gazetteer().find(text)
    assert text[m.start : m.end].startswith("ул. Мира")


@pytest.mark.parametrize(
    "text",
    [
        "ул. Ленина, 5 и ул-ленина, 6; пр-т Мира 3, в Бергуле-2, из Бергуля.",
        "Верх-Красноярка: улица Ленина, д. 7 — и Ленина, 8 (Советской, 9)",
        "ш. Северное, Северное-Ш, ш-ш, -ул Мира 4, а-ул Мира 5",
    ],
)
def test_every_word_and_the_known_words_find_the_same(text):
    # find() looks for the few words known to be there; a «K» (Kelvin sign: lower() makes it a
    # letter) or an «İ» (two characters in lower case) sends it over every word of the text instead.
    g = load_gazetteer()
    fast = [(m.name, m.kind, m.start, m.end) for m in g.find(text)]
    assert fast
    for odd in ("\u212a", "\u0130"):
        assert [(m.name, m.kind, m.start, m.end) for m in g.find(text + " " + odd)] == fast


def test_gazetteer_forms_from_the_file():
    g = Gazetteer(
        GazetteerFile.model_validate(
            {
                "settlements": [{"name": "Ключи", "kind": "посёлок", "forms": ["Ключах", "Ключей"]}],
                "streets": ["Заречная", {"name": "8 Марта", "forms": []}],
            }
        )
    )
    assert [m.name for m in g.find("В Ключах на Заречной 4")] == ["посёлок Ключи", "ул. Заречная, д. 4"]


# -- importance ------------------------------------------------------------------------------
WINTER = datetime(2026, 1, 15, 8, 0)
SUMMER = datetime(2026, 7, 15, 8, 0)


@pytest.mark.parametrize(
    "text, when, level, reason",
    [
        ("Нет отопления, в квартире +12 градусов", WINTER, "high", "no_heat"),
        ("Нет отопления, в квартире +12 градусов", SUMMER, "normal", None),
        ("Сильный запах газа в подъезде", SUMMER, "high", "gas"),
        ("Оборван провод, лежит на земле и искрит", SUMMER, "high", "accident"),
        ("Горит сухая трава у домов, пожар подбирается к сараям", SUMMER, "high", "fire"),
        ("Трещина в несущей стене, дом может обрушиться", SUMMER, "high", "collapse"),
        ("Весь посёлок без воды второй день", SUMMER, "high", "many_affected"),
        ("Открытый люк на тротуаре, дети могут провалиться", SUMMER, "high", "accident"),
        ("Ребёнок упал с качелей и получил травму", SUMMER, "high", "life_or_health"),
        ("Сломана скамейка в сквере", WINTER, "normal", None),
    ],
)
def test_importance_rules(text, when, level, reason):
    got, reasons = load_importance().assess(text, when=when)
    assert got == level
    if reason:
        assert reason in reasons


def test_children_alone_are_context_not_an_emergency():
    rules = load_importance()
    assert rules.assess("Дети просят новую горку на площадке", when=SUMMER) == ("normal", ["children"])
    level, reasons = rules.assess("Дети сидят без света третий день", when=SUMMER)
    assert level == "high" and "children" in reasons


def test_fast_track_per_platform():
    data = ImportanceFile.model_validate(
        {
            "rules": [{"reason": "x", "pattern": "никогда-никогда"}],
            "fast_track": {"platforms": ["pos", "kamchatka"]},
        }
    )
    rules = ImportanceRules(data)
    assert rules.assess("просьба", fast_track=True, platform="pos") == ("high", ["platform_fast_track"])
    assert rules.assess("просьба", fast_track=True, platform="vk")[0] == "normal"
    assert load_importance().assess("просьба", fast_track=True)[0] == "high"  # default: any platform


def test_invalid_importance_rules_name_the_line(tmp_path):
    path = tmp_path / "imp.yaml"
    path.write_text('rules:\n  - reason: bad\n    pattern: "(unclosed"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"imp.yaml:3: rules.0.pattern: .*regular expression"):
        load_model(path, ImportanceFile)


def test_literal_triggers_never_skip_a_match():
    assert literal_triggers("угроз\\w* жизн|погиб") == ("угроз", "погиб")
    assert literal_triggers("(?:а|б)в") is None
    for rule, pattern, triggers in load_importance().compiled:
        if triggers is None:
            continue
        for sample in ("нет света", "запах газа", "без воды", "угроза жизни", "дтп", "пожар", "сосулька"):
            if pattern.search(sample):
                assert any(t in sample for t in triggers), (rule.reason, sample)


@pytest.mark.parametrize(
    "pattern, expected",
    [
        (r"\b\d{2,} (?:домов|семей)", {" домов", " семей"}),
        (r"(?:сотни|тысячи) (?:людей|жителей)", {"сотни ", "тысячи "}),
        (r"нет (?:холодной )?воды", {"нет "}),
        (r"угроз\w* (?:для )?дет", {"угроз"}),
        (r"(?i:Дом) упал", {" упал"}),
        (r"(?i)дом", None),  # case-insensitive: no substring is certain
        (r"[ab]c|d", None),
    ],
)
def test_needles_every_match_contains(pattern, expected):
    assert needles_of(pattern) == (None if expected is None else frozenset(expected))


@pytest.mark.parametrize(
    "pattern",
    [
        r"(?:дет(?:и|ей)|реб\w*) упал|угроз\w* (?:для )?дет",
        r"(а)б|\1в",
        r"а(?=бв)|г(?!д)е",
        r"ab|",
        r"кот{2}|пёс",
    ],
)
def test_alternatives_tried_alone_match_as_the_whole_pattern(pattern):
    rules = ImportanceRules(ImportanceFile.model_validate({"rules": [{"reason": "x", "pattern": pattern}]}))
    whole = re.compile(pattern)
    for text in ["", *"дети упал|ребята упал|угроза для дет|абв|ав|бв|ге|гд|кот|котт|пёс".split("|")]:
        got = rules.assess(text, normalized=text)[0] == "high"
        assert got == bool(whole.search(text)), (pattern, text)


def test_explicit_triggers_gate_the_pattern():
    data = ImportanceFile.model_validate(
        {"rules": [{"reason": "many", "pattern": r"\d\d (?:домов|семей)", "triggers": ["домов", "семей"]}]}
    )
    rules = ImportanceRules(data)
    assert rules.assess("без света 40 домов")[0] == "high"
    assert rules.assess("без света 40 дворов")[0] == "normal"


def test_the_shipped_rules_decide_as_every_pattern_searched_whole():
    """The substring prefilter (one Aho–Corasick pass, nested literals like «нет » and «нет газа»
    included) must never change a verdict: compare with each rule's whole pattern searched."""
    rules = load_importance()
    texts = [
        "нет газа третий день, в доме маленькие дети",
        "нет света и нет воды во всем доме",
        "без отопления 40 квартир, на улице мороз",
        "на дороге дтп, пострадал ребенок",
        "из люка идет дым, пахнет газом",
        "упала сосулька у подъезда, чуть не задело пожилую женщину",
        "просим покосить траву у школы",
        "прорыв трубы, затопило подвал, сотни жителей без воды",
    ]
    for when in (None, datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 7, 15, tzinfo=UTC)):
        season = None if when is None else ("winter" if when.month in rules.winter else "summer")
        for text in texts:
            want = [
                r.reason
                for r, pattern, _ in rules.compiled
                if (season is None or r.season in ("any", season)) and pattern.search(text)
            ]
            _, reasons = rules.assess(text, when=when, normalized=text)
            assert reasons == list(dict.fromkeys(want)), (text, when)


@pytest.mark.parametrize(
    "text",
    [
        "В Бергуле на ул.Ленина5 яма", "Бергуль2 и ул. Мира, д.3а", "улица Советская 7, Бергуль",
        "с.Биаза ул Школьная12", "Ёлки в Федосихе", "Kelvin \u212a Бергуль", "ул. Лесная-2 у Бергуля",
        "5ул.Садовая 10", "пр-т Мира 3 и Бергуль", "", "123 456", "В СЕВЕРНОМ на улице Гагарина, дом 9",
    ],
)
def test_the_gazetteer_finds_the_same_from_the_routers_words(text):
    from router.text import clean, words

    gazetteer = load_gazetteer()
    cleaned = clean(text)
    tokens = words(cleaned.lower().replace("ё", "е"))
    assert gazetteer.find(cleaned, cleaned=True, tokens=tokens) == gazetteer.find(cleaned, cleaned=True)
