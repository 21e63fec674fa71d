"""The normalizer undoes disguise and keeps a map back to the original text."""

import pytest

from moderation.normalizer import normalize, normalize_text, plain_normalized

CASES = [
    ("ПиZДец", "пиздец"),  # mixed case, a Latin look-alike
    ("xор0шо", "хорошо"),  # Latin x and digit 0 inside a Cyrillic word
    ("п.и.з.д.а", "пизда"),  # letters spaced by dots
    ("х у й", "хуй"),  # by spaces
    ("б-л-я", "бля"),  # by hyphens
    ("ёлка", "елка"),  # ё
    ("ссссука", "сука"),  # repeated letters
    ("су\u200bка", "сука"),  # zero-width space
    ("су\u0301ка", "сука"),  # combining accent
    ("и\u0306од", "йод"),  # a decomposed й is kept as й
    ("3.14дорас", "пидорас"),  # "3.14" for "пи"
    ("хо(х)лы", "хохлы"),  # a bracket inside a word hides nothing
]


@pytest.mark.parametrize("raw,expected", CASES)
def test_disguise_is_undone(raw, expected):
    assert normalize(raw)[0] == expected


def test_wildcards_stay_as_stars():
    assert normalize("бл@ть")[0] == "бл*ть"
    assert normalize("по%уй")[0] == "по*уй"
    assert normalize("х..ня")[0] == "х*ня"


def test_numbers_and_plain_latin_are_left_alone():
    assert normalize("дом 16а, кв. 5")[0] == "дом 16а, кв. 5"
    assert normalize("wifi на остановке")[0] == "wifi на остановке"


def test_index_maps_every_character_back_to_the_original():
    text = "Ну су\u200bка, п.и.з.д.а же, ХУЙНЯ"
    norm, index = normalize(text)
    assert len(norm) == len(index)
    for word in ("сука", "пизда", "хуйня"):
        start = norm.index(word)
        assert text[index[start]].lower() == word[0]
        assert text[index[start + len(word) - 1]].lower() == word[-1]


def test_abbreviations_and_ellipses_are_not_joined():
    assert "х.ясный" in normalize("в Х.Ясный")[0]  # capitalised: an abbreviation (хутор)
    assert "е.л" in normalize("Е.Л. Иванова")[0]  # initials
    assert "бы..люди" in normalize("бы..люди")[0]  # a word, then an ellipsis
    assert normalize("бы..люди", join_gaps=False)[0] == "бы..люди"


@pytest.mark.parametrize(
    "text",
    [
        "Уважаемая администрация! На улице Ленина, д. 5 третий день не вывозят мусор.",
        "Когда отремонтируют дорогу? Яма на яме, колёса бьём каждый день",
        "Класс в школе № 3 холодный, дети сидят в куртках, аааа",
    ],
)
def test_fast_path_agrees_with_the_full_pass(text):
    fast = plain_normalized(text)
    assert fast is not None and fast == normalize(text)[0]


def test_disguised_text_takes_the_full_pass():
    assert plain_normalized("пиzдец") is None
    assert plain_normalized("х у й вам") is None
    assert normalize_text("пиzдец") == "пиздец"
