"""The moderation lexicon: data files (moderation/data/lexicon.yaml plus a profile's extras),
validated, compiled once into whole-word regexes over normalized text."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from otklik.datafile import load_model

DEFAULT = Path(__file__).resolve().parent / "data" / "lexicon.yaml"
CYRILLIC = re.compile("[а-я]")


class Spam(BaseModel):
    threshold: int = Field(2, ge=1)
    markers: list[str] = Field(default_factory=list)
    link_farm: int = Field(3, ge=2)


class LexiconFile(BaseModel):
    prefix: str = ""
    obscene: list[str] = Field(default_factory=list)
    obscene_inside: list[str] = Field(default_factory=list)
    exceptions: list[str] = Field(default_factory=list)
    insult: list[str] = Field(default_factory=list)
    threat: list[str] = Field(default_factory=list)
    harm_intent: list[str] = Field(default_factory=list)
    spam: Spam = Field(default_factory=Spam)

    @field_validator("obscene", "insult", "threat", "harm_intent")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for p in patterns:
            try:
                re.compile(p.replace("{prefix}", ""))
            except re.error as exc:
                raise ValueError(f"pattern {p!r} is not a valid regex: {exc}") from None
        return patterns


def allow_wildcards(pattern: str) -> str:
    """Let every Cyrillic letter of a pattern also match `*` (a letter hidden by a symbol)."""
    out: list[str] = []
    in_class = False
    escaped = False
    for ch in pattern:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            out.append(ch)
            escaped = True
        elif ch == "[" and not in_class:
            in_class = True
            out.append(ch)
        elif ch == "]" and in_class:
            in_class = False
            out.append("*]")
        elif CYRILLIC.match(ch) and not in_class:
            out.append(f"[{ch}*]")
        else:
            out.append(ch)
    return "".join(out)


def _words(patterns: list[str], prefix: str, wildcards: bool) -> re.Pattern[str] | None:
    if not patterns:
        return None
    parts = [p.replace("{prefix}", prefix) for p in patterns]
    if wildcards:
        parts = [allow_wildcards(p) for p in parts]
    return re.compile(r"(?<![\w*])(?:" + "|".join(f"(?:{p})" for p in parts) + r")(?![\w*])")


def _whole(patterns: list[str], prefix: str) -> re.Pattern[str] | None:
    if not patterns:
        return None
    parts = [allow_wildcards(p.replace("{prefix}", prefix)) for p in patterns]
    return re.compile("|".join(f"(?:{p})" for p in parts))


def _phrases(patterns: list[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(f"(?:{p})" for p in patterns) + r")")


class Lexicon:
    __hash__ = object.__hash__  # identity: compiled once, used as a cache key

    def __init__(self, data: LexiconFile) -> None:
        self.data = data
        self.obscene = _words(data.obscene, data.prefix, wildcards=True)
        self.insult = _words(data.insult, "", wildcards=True)
        # The same patterns for one word at a time (rules.py caches the verdict per word).
        self.obscene_word = _whole(data.obscene, data.prefix)
        self.insult_word = _whole(data.insult, "")
        self.obscene_inside = re.compile("|".join(data.obscene_inside)) if data.obscene_inside else None
        self.threat = _phrases(data.threat)
        self.harm_intent = _phrases(data.harm_intent)
        self.spam_markers = _phrases(data.spam.markers)
        self.exceptions = tuple(sorted(set(data.exceptions)))

    @classmethod
    def load(cls, *extra: str | Path) -> Lexicon:
        return _load(tuple(str(p) for p in extra))


@functools.cache
def _load(extra: tuple[str, ...]) -> Lexicon:
    data = load_model(DEFAULT, LexiconFile)
    for path in extra:
        more = load_model(path, LexiconFile)
        data = LexiconFile(
            prefix=data.prefix, obscene=data.obscene + more.obscene,
            obscene_inside=data.obscene_inside + more.obscene_inside, exceptions=data.exceptions + more.exceptions,
            insult=data.insult + more.insult, threat=data.threat + more.threat,
            harm_intent=data.harm_intent + more.harm_intent,
            spam=Spam(threshold=data.spam.threshold, markers=data.spam.markers + more.spam.markers,
                      link_farm=data.spam.link_farm))
    return Lexicon(data)
