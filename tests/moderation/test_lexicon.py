"""Lexicon data files: validated with file and line, extendable per municipality, and the phrase
filter never changes a verdict (it only skips regexes that cannot match)."""

import pytest

from moderation.filter import ModerationFilter
from moderation.lexicon import DEFAULT, Lexicon, LexiconFile, squeeze
from moderation.profile import ModerationProfile, load_profile
from moderation.rules import check_text
from moderation.triggers import required_fragments
from otklik.datafile import load_model
from otklik.exceptions import ConfigError


def test_default_lexicon_loads_and_compiles():
    lex = Lexicon.load()
    assert lex.obscene_word is not None and lex.insult_word is not None
    assert {"threat", "harm_intent", "spam_markers"} <= set(lex.phrase_patterns)


def test_a_bad_pattern_is_reported_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text('insult:\n  - "хорошо"\n  - "(незакрытая"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yaml:3: insult\.1"):
        load_model(bad, LexiconFile)


def test_a_profile_adds_a_municipal_lexicon(tmp_path):
    (tmp_path / "local.yaml").write_text(
        'insult:\n  - "бюрократ\\\\w*"\nspam:\n  markers:\n    - "шиномонтаж"\n  trusted_sites: [zarechny.ru]\n',
        encoding="utf-8",
    )
    (tmp_path / "zarechny.yaml").write_text(
        "name: zarechny\nrepeat_answered_after: 3\nextra_lexicons: [local.yaml]\n", encoding="utf-8"
    )
    profile = load_profile(str(tmp_path / "zarechny.yaml"))
    assert profile.repeat_answered_after == 3
    filt = ModerationFilter(profile)
    assert filt.moderate("1", "a", "Вы там бюрократы все").reasons == ["insult"]
    assert check_text("Вы там бюрократы все").decision == "accept"  # the default lexicon is untouched
    assert filt.moderate("2", "b", "Шиномонтаж круглосуточно, звоните +7 900 000-00-00").reasons == ["spam"]
    links = " ".join(f"https://zarechny.ru/photo{i}" for i in range(5))
    assert filt.moderate("3", "c", f"Фото ям: {links}").decision == "accept"


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(ConfigError, match="unknown moderation profile"):
        load_profile("no-such-municipality")
    assert isinstance(load_profile(None), ModerationProfile)


@pytest.mark.parametrize(
    "pattern,fragments",
    [
        (r"(?:убью|прибью)\s+(?:вас|тебя)", {"^убью", "^прибью"}),
        (r"кровью\s+умоет\w*", {"^кровью"}),
        (r"на\s+х\*+", {"х*"}),
        (r"\d+\s*%\s+скидк\w*", {"скидк"}),
    ],
)
def test_required_fragments(pattern, fragments):
    assert required_fragments(pattern) == frozenset(fragments)


def test_unanalysable_pattern_means_always_run():
    assert required_fragments(r"[a-z]+\d+") is None


SENTENCES = [
    "я вас всех убью",
    "сожгу твой дом",
    "таких надо расстреливать",
    "какого х вы молчите",
    "идите на х** с такой уборкой",
    "Продам дрова, скидка 20% только сегодня",
    "Заработок от 3000 в день",
    "на улице Ленина яма",
    "фото по ссылке https://disk.example.ru/a",
    "тебе не жить",
    "Розыгрыш призов: подпишись и перейди по ссылке",
    "экономическая ж., а не бюджет",
    "сук, опять свет вырубили",
]


@pytest.mark.parametrize("text", SENTENCES)
def test_phrase_filter_never_changes_a_verdict(text):
    full = Lexicon(load_model(DEFAULT, LexiconFile))
    every_pattern = dict(full.phrase_masks)
    full.phrase_filter.select = lambda words, norm: dict(every_pattern)
    assert check_text(text).model_dump() == check_text(text, full).model_dump()


def test_squeeze_keeps_quantified_letters():
    assert squeeze("ссылк") == "сылк"
    assert squeeze("сс?ылк") == "сс?ылк"


@pytest.mark.parametrize("text", ["ремонт под ключ недорого", "продам гараж, звоните", "я вас всех убью"])
def test_phrase_filter_keeps_only_patterns_that_can_match(text):
    lex = Lexicon(load_model(DEFAULT, LexiconFile))
    words = set(text.replace(",", " ").split())
    masks = lex.phrase_filter.select(words, text)
    assert masks and all(bits != lex.phrase_masks[group] for group, bits in masks.items())
    for group, bits in masks.items():  # the narrowed regex finds what the whole group's regex finds
        narrowed = [m.span() for m in lex.phrase_regex(group, bits).finditer(text)]
        assert narrowed == [m.span() for m in lex.phrase_patterns[group].finditer(text)]
    assert lex.phrase_filter.select({"улица", "яма"}, "улица яма") == lex.phrase_filter.always
