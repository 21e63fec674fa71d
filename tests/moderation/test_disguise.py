"""Each disguise family, on texts written for these tests, and the generator's determinism."""

import pytest

from moderation.disguise import DISGUISES, FAMILIES, ROOTS, generate, split_roots
from moderation.normalizer import translit_readings
from moderation.rules import check_text


def reasons(text: str) -> list[str]:
    return check_text(text).reasons


@pytest.mark.parametrize(
    "text",
    ["вы все дeбuлы", "сидит там Bыродок", "эта твapb опять", "по)(уй им", "}{ерово работают? нет: по}{уй"],
)
def test_homoglyphs_latin_and_digits_are_read_as_cyrillic(text):
    assert reasons(text)


@pytest.mark.parametrize("text", ["какие же к#тины", "олиг%рены в совете", "вот с*ты", "п@@дец полный"])
def test_symbol_masks_over_one_or_more_letters(text):
    assert reasons(text)


@pytest.mark.parametrize("text", ["ну ты и у р о д", "ну и ч.м.о", "д-е-г-е-н-е-р-а-т", "м|р|а|з|ь"])
def test_separators_between_letters(text):
    assert reasons(text)


def test_repeated_letters():
    assert reasons("мууудааак") and reasons("кррретин")


@pytest.mark.parametrize("text", ["ty debil", "kakoi pizdec", "blyat opyat", "ublyudki", "tvari"])
def test_transliteration_into_latin(text):
    assert reasons(text)


def test_transliteration_readings_are_bounded_and_latin_only():
    assert "пиздец" in translit_readings("pizdec")
    assert translit_readings("дебил") == [] and translit_readings("ab") == []
    assert len(translit_readings("cycycycycycy")) <= 24


def test_zero_width_characters():
    assert reasons("иди\u200bот") and reasons("м\u00adр\u200dа\u2060зь")


def test_mixed_case():
    assert reasons("ДеБиЛ") and reasons("уРоДы")


@pytest.mark.parametrize("text", ["этотурод опять", "нуидиот", "этиидиоты", "вымудаки", "тупыеуроды"])
def test_glued_words(text):
    assert reasons(text)


@pytest.mark.parametrize(
    "text",
    [
        "Аманда написала в поддержку",  # a name, not a glued obscenity
        "Закажите на ebay или в магазине",
        "Купил Hyundai, езжу по Ленина",
        "Это.Но всё равно",
        "Ну и дела, там все работают",
        "иммунитет у детей слабый, эти идеи хорошие",
    ],
)
def test_plain_texts_stay_clean(text):
    assert reasons(text) == []


def test_generator_is_deterministic_by_seed_and_covers_every_family():
    a, b, c = generate(seed=3), generate(seed=3), generate(seed=4)
    assert a == b and a != c
    assert {s.family for s in a} == set(FAMILIES) == set(DISGUISES)
    assert all(s.disguised != s.word for s in a if s.family != "mixed_case")
    dev, held = split_roots(0)
    assert sorted(dev + held) == sorted(ROOTS) and not set(dev) & set(held) and dev and held


def test_held_out_roots_are_recognised_in_every_family():
    _, held = split_roots(5)
    samples = generate(held, seed=5, per_form=1)
    caught = sum(check_text(s.text).decision == "drop" for s in samples)
    assert caught / len(samples) >= 0.95
