"""Territorial executors learned from the archive: a district or town named in a message decides
which local administration answers it.

The archive names its territorial executors after their place ("Администрация Льговского
района", "Администрация города Щигры", "Администрация Сеймского округа города Курска"); the place
word's stem is looked for at the start of the message's words ("в Льгове", "Льговский РЭС"). A
stem is kept only when it earns its place on the archive itself: most of the archived messages that
name it went to one of its administrations ("Советская", "Октябрьская" are also street names, and
a stem that mostly names streets is dropped). The model's own choice stands unless it is
territorial too and the text names another territory.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

# "Администрация города X", "Администрация г. X", "Администрация X-ского района|округа".
_TOWN = re.compile(r"администрация\s+(?:города|г\.)\s*([а-яё-]+)", re.IGNORECASE)
_AREA = re.compile(r"администрация\s+([а-яё-]+?)(?:ского|цкого|ого|его)\s+(?:района|округа)", re.IGNORECASE)
ENDINGS = ("ова", "ева", "ина", "ска", "а", "ы", "и", "я")
MIN_STEM = 4
MIN_PRECISION = 0.5  # of the archived messages naming the stem, the share sent to its administrations
MIN_SUPPORT = 2


def place_stem(executor: str) -> str | None:
    """The stem of the place an executor is named after, or None for a non-territorial one."""
    m = _AREA.search(executor)
    if m:
        word = m.group(1).lower().replace("ё", "е")
        return word if len(word) >= MIN_STEM else None
    m = _TOWN.search(executor)
    if m:
        word = m.group(1).lower().replace("ё", "е")
        for ending in ENDINGS:
            if word.endswith(ending) and len(word) - len(ending) >= MIN_STEM:
                word = word[: -len(ending)]
                break
        return word if len(word) >= MIN_STEM else None
    return None


class Territories:
    def __init__(self, stems: dict[str, list[str]]) -> None:
        self.stems = stems  # place stem -> its administrations, the most frequent first
        self.territorial = {e for executors in stems.values() for e in executors}

    @classmethod
    def learn(cls, executors: list[str | None], tokens: list[list[str]] | None = None) -> Territories | None:
        counts = Counter(e.strip() for e in executors if e)
        by_stem: dict[str, list[str]] = defaultdict(list)
        for executor, _ in counts.most_common():
            if stem := place_stem(executor):
                by_stem[stem].append(executor)
        if tokens is not None:  # keep the stems that mostly point at their administrations
            kept = {}
            for stem, admins in by_stem.items():
                named = [
                    (e or "").strip()
                    for e, words in zip(executors, tokens, strict=True)
                    if any(w.startswith(stem) for w in words)
                ]
                hits = sum(e in admins for e in named)
                if hits >= MIN_SUPPORT and hits / len(named) >= MIN_PRECISION:
                    kept[stem] = admins
            by_stem = kept
        return cls(dict(by_stem)) if by_stem else None

    def named(self, words: list[str]) -> list[str]:
        """The administrations of the places a message names, in order of mention."""
        out: list[str] = []
        for w in words:
            for stem, admins in self.stems.items():
                if w.startswith(stem):
                    out += [a for a in admins if a not in out]
        return out

    def decide(self, words: list[str], predicted: list[str]) -> list[str]:
        """The executors: the model's, unless it chose a territorial one and the text names
        another territory, whose administration then comes first."""
        if not predicted or predicted[0] not in self.territorial:
            return predicted
        named = self.named(words)
        if not named or predicted[0] in named:
            return predicted
        return [named[0], *(e for e in predicted if e != named[0])]
