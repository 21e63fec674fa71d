"""Importance: `high` when life or health is at risk, an emergency (no heat, water, power or gas —
worse in winter — accidents, collapses, fires), children or many people are affected, or the
platform marks the message fast-track. Every rule is data (router/data/importance.yaml)."""

from __future__ import annotations

import functools
import re
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from otklik.datafile import load_model
from router.text import normalize

DATA = Path(__file__).resolve().parent / "data" / "importance.yaml"


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(pattern=r"^[a-z_]+$")
    pattern: str  # a regular expression over the normalized text (lower case, ё → е)
    # Substrings one of which every match contains: the pattern is tried only when one occurs.
    # Worked out from the pattern when it starts each alternative with plain letters.
    triggers: list[str] | None = None
    season: Literal["any", "winter", "summer"] = "any"
    alone: bool = True  # false: counts only together with another reason («дети» + «нет света»)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return v


class FastTrack(BaseModel):
    """Platforms' own «important» flags (ПОС fastTrack, «Камчатка в порядке» fast-track)."""

    model_config = ConfigDict(extra="forbid")

    makes_high: bool = True
    platforms: list[str] = Field(default_factory=list)  # empty: every platform's flag counts


class ImportanceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    winter_months: list[int] = Field(default_factory=lambda: [11, 12, 1, 2, 3])
    rules: list[Rule] = Field(min_length=1)
    fast_track: FastTrack = Field(default_factory=FastTrack)

    @field_validator("winter_months")
    @classmethod
    def _months(cls, v: list[int]) -> list[int]:
        bad = [m for m in v if not 1 <= m <= 12]
        if bad:
            raise ValueError(f"months are 1..12, got {bad}")
        return v

    @model_validator(mode="after")
    def _some_decisive(self) -> ImportanceFile:
        if not any(r.alone for r in self.rules):
            raise ValueError("every rule needs company (alone: false): nothing could ever be high")
        return self


def literal_triggers(pattern: str) -> tuple[str, ...] | None:
    """Substrings one of which every match must contain: the literal start of each top-level
    alternative («угроз\\w* жизн|погиб» → угроз, погиб). None when an alternative starts with
    regex syntax. A substring test is far cheaper than a regex search, and most messages have
    none of them: the regex then need not run at all."""
    alternatives, depth, start, escaped, in_class = [], 0, 0, False, False
    for i, ch in enumerate(pattern):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            alternatives.append(pattern[start:i])
            start = i + 1
    alternatives.append(pattern[start:])
    out = []
    for alt in alternatives:
        alt = alt.removeprefix("\\b")
        literal = re.match(r"[а-яa-z0-9 ]+", alt)
        text = literal.group() if literal else ""
        # a quantifier right after the literal applies to its last character: leave that one out
        if text and len(alt) > len(text) and alt[len(text)] in "?*{":
            text = text[:-1]
        if len(text) < 2:
            return None
        out.append(text)
    return tuple(out)


class ImportanceRules:
    def __init__(self, data: ImportanceFile) -> None:
        self.data = data
        self.compiled = [
            (r, re.compile(r.pattern), tuple(r.triggers) if r.triggers else literal_triggers(r.pattern))
            for r in data.rules
        ]
        self.winter = set(data.winter_months)

    def assess(
        self,
        text: str,
        *,
        fast_track: bool = False,
        when: datetime | None = None,
        platform: str | None = None,
        normalized: str | None = None,
    ) -> tuple[Literal["normal", "high"], list[str]]:
        """The importance and its reasons. Without a date, seasonal rules count (err on the side
        of a faster answer)."""
        norm = normalized if normalized is not None else normalize(text)
        season = None if when is None else ("winter" if when.month in self.winter else "summer")
        reasons: list[str] = []
        decisive = False
        for rule, pattern, triggers in self.compiled:
            if rule.season != "any" and season is not None and rule.season != season:
                continue
            if triggers is not None and not any(map(norm.__contains__, triggers)):
                continue
            if rule.reason not in reasons and pattern.search(norm):
                reasons.append(rule.reason)
                decisive = decisive or rule.alone
        ft = self.data.fast_track
        if fast_track and ft.makes_high and (not ft.platforms or (platform or "") in ft.platforms):
            reasons.append("platform_fast_track")
            decisive = True
        if not decisive:
            return "normal", reasons  # companions alone (children) are kept as context
        return "high", reasons


@functools.cache
def load_importance(path: str | None = None) -> ImportanceRules:
    return ImportanceRules(load_model(Path(path) if path else DATA, ImportanceFile))
