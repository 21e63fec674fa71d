from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from otklik.datafile import load_model
from otklik.exceptions import ConfigError
from router.rubricator import GROUPS, Rubricator, RubricatorFile, load_rubricator
from router.text import clean, normalize, word_forms, words


def rubricator_from(tmp_path: Path, body: str) -> Rubricator:
    path = tmp_path / "rub.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return Rubricator(load_model(path, RubricatorFile))


def test_clean_strips_html_and_entities():
    assert clean("<p>Нет&nbsp;света</p><p>третий  день</p>") == "Нет света третий день"
    assert normalize("<b>Ёлка</b> у ДОМА") == "елка у дома"
    assert words("qr-код, дом 5а") == ["qr", "код", "дом", "5а"]


def test_word_forms_follow_the_written_lemma():
    assert {"ямы", "ям", "ямой", "яме"} <= word_forms("яма")
    assert "смочь" not in word_forms("смог")  # the smog, not the verb
    assert word_forms("мфц") == frozenset({"мфц"})  # unknown: no guessed paradigm


def test_default_rubricator_has_the_26_groups():
    rub = load_rubricator()
    assert rub.groups == list(GROUPS)
    assert len(rub.topics) > 2 * len(GROUPS)  # realistic topics under the groups


def test_keyword_syntax(tmp_path):
    rub = rubricator_from(
        tmp_path,
        """
        groups:
          - name: Дороги
            topics:
              - name: Ямы
                keywords: [яма]
          - name: ЖКХ
            topics:
              - name: УК
                keywords: ["=ук", "ливнев*", детская площадка]
    """,
    )

    def groups(text):
        return {rub.topics[t].group: s for t, s in rub.scores(text).items()}

    assert groups("Сплошные ямы") == {"Дороги": 1.0}
    assert groups("звонил в УК") == {"ЖКХ": 1.0}
    assert groups("а укус комара") == {}
    assert groups("ливнёвка засорилась") == {"ЖКХ": 1.0}
    assert groups("у детской игровой площадки") == {"ЖКХ": 2.0}  # a phrase, one word between
    assert groups("детской и большой игровой площадки") == {}  # two words between: not the phrase


def test_phrase_replaces_its_own_words(tmp_path):
    rub = rubricator_from(
        tmp_path,
        """
        groups:
          - name: Дороги
            topics:
              - name: Знаки
                keywords: [знак, дорожный знак]
    """,
    )
    assert list(rub.scores("упал дорожный знак").values()) == [2.0]
    assert list(rub.scores("упал знак").values()) == [1.0]


def test_context_words_count_half(tmp_path):
    rub = rubricator_from(
        tmp_path,
        """
        groups:
          - name: Образование
            topics:
              - name: Школы
                keywords: [учитель]
                context: [школа]
                weight: 2
    """,
    )
    assert list(rub.scores("возле школы").values()) == [1.0]
    assert list(rub.scores("учитель в школе").values()) == [3.0]


def test_a_municipality_can_add_a_topic_inside_a_group(tmp_path):
    rub = rubricator_from(
        tmp_path,
        """
        groups:
          - name: Благоустройство
            topics:
              - name: Новогодняя ёлка на площади
                keywords: [ёлка, гирлянда]
    """,
    )
    ((idx, _),) = rub.scores("когда поставят елку").items()
    assert rub.topics[idx] == ("Благоустройство", "Новогодняя ёлка на площади", 1.0)


@pytest.mark.parametrize(
    "body, message",
    [
        ("groups:\n  - name: Дорогии\n    topics:\n      - name: x\n", "rub.yaml:2: groups.0.name"),
        (
            'groups:\n  - name: ЖКХ\n    topics:\n      - name: a\n        keywords: ["ям*("]\n',
            "rub.yaml:5: groups.0.topics.0.keywords",
        ),
        (
            'groups:\n  - name: ЖКХ\n    topics:\n      - name: a\n        keywords: ["ям*"]\n',
            "at least 3 letters",
        ),
        ("groups:\n  - name: ЖКХ\n    topics:\n      - name: a\n      - name: a\n", "topics listed twice"),
        ("groups:\n  - name: ЖКХ\n    topics: []\n", "rub.yaml:3: groups.0.topics"),
    ],
)
def test_invalid_rubricator_is_reported_with_its_line(tmp_path, body, message):
    path = tmp_path / "rub.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("*", r"\*").replace("(", r"\(")):
        load_model(path, RubricatorFile)


def test_explain_names_the_keywords():
    rub = load_rubricator()
    found = rub.explain("Во дворе не вывозят мусор из контейнеров")
    assert "Мусор/Свалки/ТКО" in found
    assert any("мусор" in k for k in found["Мусор/Свалки/ТКО"])
