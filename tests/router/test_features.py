"""The trained model's features: computed per batch with numpy, from words the router already split,
with each word form worked out once per process. These tests hold the fast path to the plain
definition (TF-IDF of a doc's own n-grams) and the term keys to being the same in every process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

import router.features as features
from router.features import Doc, TermBlock, char_keys, stem_grams, stem_keys
from router.model import build
from router.rubricator import load_rubricator
from router.text import normalize, words


def _docs(texts: list[str]) -> list[Doc]:
    rub = load_rubricator()
    return [Doc(words(normalize(t)), rub.scores(t)) for t in texts]


@pytest.fixture(scope="module")
def fitted(history_rows):
    f, _ = build(load_rubricator().data)
    return f.fit(_docs([r["text"] for r in history_rows]))


def test_a_word_gives_its_padded_n_grams_and_none_span_two_words():
    rows, keys = char_keys([["яма"]])
    assert len(keys) == 6 and set(rows) == {0}  # « ям», «яма», «ма », « яма», «яма », « яма »
    _, both = char_keys([["яма", "дом"]])
    _, dom = char_keys([["дом"]])
    assert Counter(both.tolist()) == Counter(keys.tolist()) + Counter(dom.tolist())


def test_stem_grams_are_unigrams_and_neighbouring_bigrams_within_a_doc():
    keys = stem_keys(["яму", "в", "дорогах", "ямой"])
    owner = np.array([0, 0, 0, 1])
    rows, grams = stem_grams(keys, owner)
    assert keys[1] == 0  # a one-letter stem is skipped, before bigrams are formed
    assert keys[0] == keys[3]  # «яму» and «ямой» share the stem «ям»
    assert stem_keys(["дороги"])[0] == keys[2] and stem_keys(["дорожный"])[0] != keys[2]
    assert rows.tolist() == [0, 0, 1, 0]  # three unigrams and the one bigram «ям дорог»
    assert grams[3] % 2 == 0 and grams[:3].tolist() == [keys[0], keys[2], keys[3]]


def test_term_block_keeps_frequent_terms_and_rows_of_unit_norm():
    rows = np.array([0, 0, 0, 1, 1, 2])
    keys = np.array([5, 5, 7, 5, 9, 7], dtype=np.uint64)
    block = TermBlock(min_df=2).fit(rows, keys, 3)
    assert block.vocab.tolist() == [5, 7]  # 9 occurs in one doc only
    m = block.transform(rows, keys, 3).toarray()
    assert np.allclose(np.linalg.norm(m, axis=1), 1.0)
    assert m[0, 0] > m[0, 1]  # 5 twice in doc 0: sublinear tf, still more than 7 once
    assert TermBlock(max_features=1).fit(rows, keys, 3).vocab.tolist() == [5]


def _direct(f, docs: list[Doc]) -> tuple[np.ndarray, np.ndarray]:
    """The characters and stems blocks by their definition, without the per-word cache."""
    tokens = [d.tokens for d in docs]
    chars = f.chars.transform(*char_keys(tokens), len(docs)).toarray()
    keys = stem_keys([w for t in tokens for w in t])
    owner = np.repeat(np.arange(len(tokens)), [len(t) for t in tokens])
    stems = f.stems.transform(*stem_grams(keys, owner), len(docs)).toarray()
    return chars, stems * f.stem_weight


def test_the_cached_path_equals_the_definition_as_new_words_arrive(fitted, monkeypatch):
    batches = [
        _docs(["Огромная яма на дороге у школы", "Не горят фонари во дворе"]),
        _docs(["Яма на дороге", "Протекает крыша, течёт по стенам подъезда", "Ыыы щщщ"]),
        _docs(["", "мусор не вывозят, баки переполнены"]),
    ]
    for docs in batches:
        stems, chars, _, _, _ = fitted.blocks(docs)
        want_chars, want_stems = _direct(fitted, docs)
        assert np.allclose(chars.toarray(), want_chars, atol=1e-6)
        assert np.allclose(stems.toarray(), want_stems)
    monkeypatch.setattr(features, "MAX_CACHED_WORDS", 5)  # full: the lexicon starts afresh
    _, chars, _, vectors, _ = fitted.blocks(batches[1])
    assert len(fitted.lexicon.ids) < 20
    assert np.allclose(chars.toarray(), _direct(fitted, batches[1])[0], atol=1e-6)
    assert np.allclose(np.linalg.norm(vectors[:2], axis=1), fitted.vectors_scale, atol=1e-5)
    assert not vectors[2].any()  # no known word: a zero row


def test_term_keys_are_the_same_in_every_process():
    code = (
        "from router.features import char_keys, stem_keys;"
        "print(stem_keys(['дороги']).tolist(), sorted(char_keys([['яма']])[1].tolist()))"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    here = f"{stem_keys(['дороги']).tolist()} {sorted(char_keys([['яма']])[1].tolist())}\n"
    assert outs == {here}


def test_form_features_tell_the_markup_and_the_length_apart():
    plain = features.form_features("Яма на дороге у дома 5, позвоните 89001234567")
    para = features.form_features("<p>Яма&nbsp;на дороге</p>")
    span = features.form_features('<p><span style="x">ЯМА НА ДОРОГЕ</span></p>' + "ы" * 1200)
    assert len(plain) == len(para) == len(span) == features.FORM_WIDTH
    assert plain[:4] == [0.0, 0.0, 1.0, 0.0] and plain[7] == 1.0  # plain text, a phone number
    assert para[:5] == [0.0, 1.0, 0.0, 0.0, 1.0]  # <p> with &nbsp;
    assert span[0] == 1.0 and span[11] == 1.0 and span[14] == 1.0  # <span>, over 1000 characters, shouting
    assert plain[8] == para[8] == 1.0 and span[8] == 0.0  # short


def test_the_form_block_is_scaled_and_follows_the_docs(fitted):
    docs = [Doc([], {}, "<p>текст</p>"), Doc([], {}, "текст")]
    block = fitted.blocks(docs)[4]
    assert block.shape == (2, features.FORM_WIDTH)
    assert block[0, 1] == block[1, 2] == fitted.form_scale > 0


@pytest.mark.parametrize(
    "raw",
    [
        "Звоните +7 913", "тел. 89161234567", "8 (912) 555", "8(9", "8 9 12", "дом 1234, кв 5", "12345",
        "８９１２", "+8 7", "8\u00a0(999)", "Яма у дома 5", "", "8 (800) 100", "+", "д. 1234 5",
    ],
)
def test_the_phone_mark_is_the_one_alternation_split(raw):
    import re

    reference = re.compile(r"\+7|\d{5,}|8\s?\(?9\d\d")  # the pattern as it was, one pass
    assert features.form_features(raw)[7] == float(reference.search(raw) is not None)


def test_the_rules_block_sums_a_groups_topics():
    rub = load_rubricator()
    tokens = words(normalize("Холодные батареи, нет отопления и горячей воды, яма на дороге"))
    scores = rub.scores_for_words(tokens)
    block = features.rule_block([Doc(tokens, scores)], rub, 1.0).toarray()[0]
    by_group = Counter()
    for t, points in scores.items():
        by_group[rub.topics[t].group] += points
    assert len(by_group) >= 2
    for g, points in by_group.items():
        assert block[features.GROUPS.index(g)] == pytest.approx(np.log1p(points))


def test_the_scoring_character_block_times_weights_equals_the_weighted_block(fitted):
    """CharSums (per-word projections minus repeated n-grams' excess) against the plain TF-IDF
    block, for docs with repeated words and n-grams, words met for the first time in a later batch,
    and an empty doc."""
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(len(fitted.chars.vocab), 7))
    batches = [
        ["Яма яма на дороге, дорога разбита, ямы везде", "Холодные батареи в доме, батареи ледяные", ""],
        ["Совсем новые словечки: вымоины вымоины вымоина на дорожке", "Яма на дороге"],
    ]
    for texts in batches:
        docs = _docs(texts)
        plain = fitted.blocks(docs)[1]
        fast = fitted.blocks(docs, scoring=True)[1]
        assert isinstance(fast, features.CharSums) and fast.shape == plain.shape
        assert fast.excess.nnz > 0  # some n-gram is counted more than once
        np.testing.assert_allclose(fast @ weights, plain @ weights, rtol=1e-10, atol=1e-12)
