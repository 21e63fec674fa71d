"""Text rules: obscenity (also disguised), insults, threats, intent to harm, spam. Pure and fast:
one normalization pass, then a handful of precompiled whole-word regexes."""

from __future__ import annotations

import functools
import re

from moderation.lexicon import Lexicon
from moderation.normalizer import normalize, normalize_text
from moderation.verdict import Span, Verdict

LINK = re.compile(r"https?://|www\.|\b[a-z0-9-]+\.(?:ru|com|net|org|рф|su|info|biz|online|site|xyz)\b")
WORD = re.compile(r"[\w*]+")
MAX_CHECKED = 20_000  # characters; a longer text is checked in its first and last parts
_DEFAULT: Lexicon | None = None


def default_lexicon() -> Lexicon:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Lexicon.load()
    return _DEFAULT


def _span(original: str, index: list[int], start: int, end: int, reason: str) -> Span:
    a, b = index[start], index[max(start, end - 1)] + 1
    return Span(start=a, end=b, text=original[a:b], reason=reason)


def _plausible(word: str) -> bool:
    """A disguised word must keep most of its letters: `***` or `х**` is not evidence."""
    stars = word.count("*")
    if stars == 0:
        return True
    return not word.startswith("**") and len(word) - stars >= 2 and stars <= (len(word) + 1) // 2


@functools.lru_cache(maxsize=200_000)
def _word_reason(lex: Lexicon, word: str) -> str | None:
    """Obscene or insult for one normalized word. Cached: words repeat, so this costs a dict lookup."""
    if word.startswith(lex.exceptions) or not _plausible(word):
        return None
    if lex.obscene_word is not None and lex.obscene_word.fullmatch(word):
        return "obscene"
    if lex.insult_word is not None and lex.insult_word.fullmatch(word):
        return "insult"
    if lex.obscene_inside is not None and len(word) > 5 and lex.obscene_inside.search(word) \
            and not any(e in word for e in lex.exceptions):
        return "obscene"
    return None


def _phrases(lex: Lexicon, norm: str) -> list[tuple[int, int, str]]:
    hits = []
    for pattern, reason in ((lex.threat, "threat"), (lex.harm_intent, "harm_intent")):
        if pattern is not None:
            hits += [(m.start(), m.end(), reason) for m in pattern.finditer(norm)]
    return hits


def _spam_score(lex: Lexicon, norm: str) -> tuple[int, list[tuple[int, int, str]]]:
    hits = [(m.start(), m.end(), "spam") for m in lex.spam_markers.finditer(norm)] if lex.spam_markers else []
    score = len(hits)
    if len(LINK.findall(norm)) >= lex.data.spam.link_farm:
        score += lex.data.spam.threshold
    return score, hits


def _findings(lex: Lexicon, norm: str) -> list[tuple[int, int, str]]:
    found = [(m.start(), m.end(), r) for m in WORD.finditer(norm) if (r := _word_reason(lex, m.group()))]
    found += _phrases(lex, norm)
    score, spam = _spam_score(lex, norm)
    if score >= lex.data.spam.threshold:
        found += spam or [(0, 0, "spam")]
    return found


def check_text(text: str, lexicon: Lexicon | None = None) -> Verdict:
    lex = lexicon or default_lexicon()
    if len(text) > MAX_CHECKED:
        text = text[: MAX_CHECKED // 2] + " " + text[-MAX_CHECKED // 2:]
    if not _findings(lex, normalize_text(text)):
        return Verdict(decision="accept")
    # Something matched: redo the full pass with the index map, for spans in the original text.
    norm, index = normalize(text)
    spans: list[Span] = []
    reasons: list[str] = []
    for start, end, reason in _findings(lex, norm):
        if end > start:
            spans.append(_span(text, index, start, end, reason))
        if reason not in reasons:
            reasons.append(reason)
    return Verdict(decision="drop" if reasons else "accept", reasons=reasons, spans=spans)
