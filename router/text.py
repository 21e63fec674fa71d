"""Text preparation shared by the rules, the gazetteer and the model: HTML stripped (feedback
portals send `<p>` and `&nbsp;`), lower case, ё → е, and word forms from pymorphy3.

Morphology is used when the data files are compiled, not per message: a lemma written in the
rubricator is expanded into every form of its paradigm, so routing itself is dictionary lookups."""

from __future__ import annotations

import functools
import html
import re

TAG = re.compile(r"<[^>]+>")
WORD = re.compile(r"[а-яa-z0-9]+")


def clean(text: str) -> str:
    """Plain text: tags removed, entities decoded (`&nbsp;` becomes a space), spaces collapsed."""
    if "<" in text or "&" in text:
        text = html.unescape(TAG.sub(" ", text))
    return " ".join(text.split())  # str.split is C and splits on the same Unicode spaces as \s


def normalize(text: str) -> str:
    return clean(text).lower().replace("ё", "е")


def words(norm: str) -> list[str]:
    """Words of a normalized text; hyphenated words split (`qr-код` is two words)."""
    return WORD.findall(norm)


@functools.cache
def _analyzer():
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@functools.cache
def word_forms(word: str) -> frozenset[str]:
    """Every form of the word's paradigm, so `яма` matches «ямы», «ям», «ямой». Unknown words
    and abbreviations keep only themselves."""
    word = word.lower().replace("ё", "е")
    parses = _analyzer().parse(word)
    if not parses[0].is_known:  # an abbreviation or a new word (мфц, ковид): no guessed paradigm;
        return frozenset({word})  # the data file uses a `prefix*` when it wants the word family
    # Keywords are written as dictionary forms, so prefer the readings whose lemma is the word
    # itself: «смог» is the smog, not a form of «смочь».
    chosen = [p for p in parses if p.normal_form.replace("ё", "е") == word] or parses[:1]
    out = {word}
    for p in chosen:
        out.update(f.word.replace("ё", "е") for f in p.lexeme)
    return frozenset(out)
