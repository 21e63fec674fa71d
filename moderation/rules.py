"""Text rules: obscenity (also disguised), insults, threats, intent to harm, spam. Pure and fast:
one normalization pass, then a handful of precompiled whole-word regexes."""

from __future__ import annotations

import re

from moderation.lexicon import Lexicon
from moderation.normalizer import normalize
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


def check_text(text: str, lexicon: Lexicon | None = None) -> Verdict:
    lex = lexicon or default_lexicon()
    if len(text) > MAX_CHECKED:
        text = text[: MAX_CHECKED // 2] + " " + text[-MAX_CHECKED // 2:]
    norm, index = normalize(text)
    spans: list[Span] = []
    reasons: list[str] = []

    def words(pattern: re.Pattern[str] | None, reason: str) -> None:
        if pattern is None:
            return
        for m in pattern.finditer(norm):
            word = m.group()
            if word.startswith(lex.exceptions) or not _plausible(word):
                continue
            spans.append(_span(text, index, m.start(), m.end(), reason))
            if reason not in reasons:
                reasons.append(reason)

    words(lex.obscene, "obscene")
    if lex.obscene_inside is not None and "obscene" not in reasons:
        for m in WORD.finditer(norm):
            word = m.group()
            if len(word) > 5 and lex.obscene_inside.search(word) and not any(e in word for e in lex.exceptions):
                spans.append(_span(text, index, m.start(), m.end(), "obscene"))
                reasons.append("obscene")
                break
    words(lex.insult, "insult")
    for pattern, reason in ((lex.threat, "threat"), (lex.harm_intent, "harm_intent")):
        if pattern is not None:
            for m in pattern.finditer(norm):
                spans.append(_span(text, index, m.start(), m.end(), reason))
                if reason not in reasons:
                    reasons.append(reason)
    score = 0
    if lex.spam_markers is not None:
        hits = list(lex.spam_markers.finditer(norm))
        score += len(hits)
        for m in hits:
            spans.append(_span(text, index, m.start(), m.end(), "spam"))
    if len(LINK.findall(norm)) >= lex.data.spam.link_farm:
        score += lex.data.spam.threshold
    if score >= lex.data.spam.threshold:
        reasons.append("spam")
    else:
        spans = [s for s in spans if s.reason != "spam"]
    return Verdict(decision="drop" if reasons else "accept", reasons=reasons, spans=spans)
