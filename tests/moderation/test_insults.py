"""Insults and slurs addressed to people are dropped with reason `insult` and their span; angry
criticism of the administration is kept. Texts written for these tests."""

import pytest

from moderation.rules import check_text


def insult_spans(text: str) -> list[str]:
    v = check_text(text)
    assert v.decision == "drop" and "insult" in v.reasons, (text, v)
    return [s.text for s in v.spans if s.reason == "insult"]


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("Глава района просто дебил, сколько можно", "дебил"),  # an official
        ("В администрации сидят одни уроды", "уроды"),
        ("Депутаты тормознутые, ничего не понимают", "тормознутые"),
    ],
)
def test_insults_of_officials(text, span):
    assert insult_spans(text) == [span]


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("Алексей, ты обычный лахтотруженик, иди отсюда", "лахтотруженик"),  # another participant
        ("Опять кремлеботы понабежали в комментарии", "кремлеботы"),
        ("Сам ты тупорылый, почитай закон", "тупорылый"),
        ("Ну и мурло же ты", "мурло"),
    ],
)
def test_insults_of_participants(text, span):
    assert insult_spans(text) == [span]


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("Эти либерахи всё испортили", "либерахи"),  # a group
        ("Пиндосы опять что-то придумали", "Пиндосы"),
        ("Понаехали ватаны, шумят всю ночь", "ватаны"),
    ],
)
def test_slurs_against_groups(text, span):
    assert insult_spans(text) == [span]


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("выглядит как алигафрен", "алигафрен"),  # misspelt on purpose
        ("вы все дибилы", "дибилы"),
        ("там одни д3билы сидят", "д3билы"),
    ],
)
def test_misspelt_insults(text, span):
    assert insult_spans(text) == [span]


@pytest.mark.parametrize(
    "text",
    [
        "Позор администрации! Опять ничего не сделали",
        "Опять ничего не сделали, сколько можно ждать ремонта дороги",
        "Чиновники бездействуют, а мы сидим без воды третий день. Это возмутительно",
        "Глава обещал и не сделал, стыдно должно быть",
        "Робот-пылесос в школе сломался, пусть заменят",
        "Работы по ремонту так и не начаты, безобразие",
        "Лахта у нас за городом, дорога туда разбита",
    ],
)
def test_angry_criticism_of_the_administration_is_kept(text):
    assert check_text(text).decision == "accept"
