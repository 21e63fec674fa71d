"""Importance: `high` when life or health is at risk, an emergency (no heat, water, power or gas —
worse in winter — accidents, collapses, fires), children or many people are affected, or the
platform marks the message fast-track. Every rule is data (router/data/importance.yaml)."""

from __future__ import annotations

import functools
import re
from datetime import datetime
from pathlib import Path
from re import _constants as sre  # the standard library's regex parser: private, but its parse
from re import _parser as sre_parse  # tree is what tells which substrings a match must contain
from typing import Any, Literal, NamedTuple

import ahocorasick
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


def _alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a pattern: «a(?:b|c)|d» → a(?:b|c), d."""
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
    return alternatives


def _literal_start(alternative: str) -> str | None:
    """The plain letters every match of one alternative starts with, or None (fewer than two)."""
    alt = alternative.removeprefix("\\b")
    literal = re.match(r"[а-яa-z0-9 ]+", alt)
    text = literal.group() if literal else ""
    # a quantifier right after the literal applies to its last character: leave that one out
    if text and len(alt) > len(text) and alt[len(text)] in "?*{":
        text = text[:-1]
    return text if len(text) >= 2 else None


def literal_triggers(pattern: str) -> tuple[str, ...] | None:
    """Substrings one of which every match must contain: the literal start of each top-level
    alternative («угроз\\w* жизн|погиб» → угроз, погиб). None when an alternative starts with
    regex syntax. A substring test is far cheaper than a regex search, and most messages have
    none of them: the regex then need not run at all."""
    out = [_literal_start(alt) for alt in _alternatives(pattern)]
    return None if None in out else tuple(t for t in out if t is not None)


# Splitting «A|B» into A and B would change what a group number or a global flag refers to (and a
# comment may hide a bar).
_UNSPLITTABLE = re.compile(r"\\[1-9]|\(\?P=|\(\?\(|\(\?#|^\(\?[aiLmsux]+\)")
_MAX_STRINGS = 16  # a bigger set of needles costs more scans than it saves
Needles = frozenset[str] | None  # substrings one of which every match contains; None: unknown


def _node(op: object, av: Any) -> tuple[set[str] | None, Needles]:
    """What one node of a parsed pattern can match: its strings, when they are a small finite set
    («нет (?:холодной )?» → нет , нет холодной ), and needles, see _sequence."""
    if op is sre.LITERAL:
        return {chr(av)}, None
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return {""}, None  # zero-width: it narrows where a match is, never what it contains
    if op is sre.SUBPATTERN:
        _group, add_flags, _del_flags, sub = av
        return (None, None) if add_flags & re.IGNORECASE else _sequence(sub)
    if op is sre.BRANCH:  # a match of any alternative will do: the union, or nothing certain
        strings: set[str] | None = set()
        needles: set[str] | None = set()
        for alt_strings, alt_needles in map(_sequence, av[1]):
            strings = None if strings is None or alt_strings is None else strings | alt_strings
            needles = None if needles is None or alt_needles is None else needles | alt_needles
        if strings is not None and len(strings) > _MAX_STRINGS:
            strings = None
        return strings, None if needles is None else frozenset(needles)
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        low, high, sub = av
        once, inner = _sequence(sub)
        if low == 0:
            return (once | {""} if once is not None and high == 1 else None), None
        return (once if low == high == 1 else None), inner
    return None, None  # a class, any character, a group reference: no telling


def _sequence(nodes: Any) -> tuple[set[str] | None, Needles]:
    """The strings a parsed sequence can match (see _node), and the best needles among its runs of
    finite nodes: the fewest strings, then the leftmost (as with literal_triggers: the start of a
    pattern is what other rules and triggers look for too, so it is often tested anyway); none
    shorter than two characters (a needle found everywhere saves nothing)."""
    run: set[str] = {""}
    whole = True
    candidates: list[set[str]] = []
    for op, av in nodes:
        exact, inner = _node(op, av)
        if exact is None:
            candidates.append(run)
            if inner is not None:
                candidates.append(set(inner))
            run, whole = {""}, False
            continue
        if len(exact) > 1 or len(run) * len(exact) > _MAX_STRINGS:
            candidates.append(run)  # a shorter run before a fork: one needle instead of several
        if len(run) * len(exact) > _MAX_STRINGS:
            run, whole = exact, False
        else:
            run = {a + b for a in run for b in exact}
    candidates.append(run)
    useful = [c for c in candidates if min(map(len, c)) >= 2]
    best = min(useful, key=len, default=None)
    return (run if whole else None), (frozenset(best) if best is not None else None)


def needles_of(pattern: str) -> Needles:
    """Substrings one of which every match of the pattern contains, read from its parsed form:
    «\\b\\d{2,} (?:домов|семей)» → « домов», « семей». Unlike literal_triggers, not only the start
    counts; None when nothing is certain (a case-insensitive pattern, a class in every branch)."""
    try:
        parsed = sre_parse.parse(pattern)
    except re.error:
        return None
    if parsed.state.flags & re.IGNORECASE:
        return None
    return _sequence(parsed)[1]


Part = tuple[Needles, re.Pattern[str]]


def _split(pattern: str) -> tuple[Part, ...] | None:
    """The top-level alternatives, each compiled alone with its needles (None: always tried), or
    None when the pattern is best searched whole. A whole-pattern search tries every alternative
    at every position; a substring test is a fast scan, and an alternative whose needles are all
    absent need not run at all."""
    if _UNSPLITTABLE.search(pattern):
        return None
    try:
        return tuple((needles_of(alt), re.compile(alt)) for alt in _alternatives(pattern))
    except re.error:
        return None


class _Check(NamedTuple):
    rule: Rule
    triggers: frozenset[str] | None  # the rule runs only when one of them occurs; None: always
    parts: tuple[Part, ...] | None  # see _split
    pattern: re.Pattern[str]


class _Plan(NamedTuple):
    """The rules of one season and an Aho–Corasick automaton of every substring their checks ask
    about: one pass over the text finds all of them (~90 `in` scans of a long appeal took 27 µs,
    the automaton 8 µs)."""

    checks: tuple[_Check, ...]
    literals: ahocorasick.Automaton


def _plan(checks: list[_Check]) -> _Plan:
    literals = {t for c in checks for t in c.triggers or ()}
    literals |= {n for c in checks for ns, _ in c.parts or () for n in ns or ()}
    automaton = ahocorasick.Automaton()
    for lit in literals:
        automaton.add_word(lit, lit)
    if literals:  # an empty automaton cannot be built, and has nothing to find
        automaton.make_automaton()
    return _Plan(tuple(checks), automaton)


class ImportanceRules:
    def __init__(self, data: ImportanceFile) -> None:
        self.data = data
        self.compiled = [
            (r, re.compile(r.pattern), tuple(r.triggers) if r.triggers else literal_triggers(r.pattern))
            for r in data.rules
        ]
        self.winter = set(data.winter_months)
        checks = [
            _Check(r, None if t is None else frozenset(t), _split(r.pattern), p) for r, p, t in self.compiled
        ]
        # One plan per season (None: no date, every rule counts), so that the substrings of the
        # rules out of season are not even looked for.
        self._plans = {
            season: _plan([c for c in checks if season is None or c.rule.season in ("any", season)])
            for season in (None, "winter", "summer")
        }

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
        plan = self._plans[season]
        # Every substring any rule asks about is looked for once, not once per rule that names it.
        present = {lit for _, lit in plan.literals.iter(norm)} if len(plan.literals) else set()
        reasons: list[str] = []
        decisive = False
        for rule, triggers, parts, pattern in plan.checks:
            if triggers is not None and triggers.isdisjoint(present):
                continue
            if rule.reason in reasons:
                continue
            if parts is None:
                matched = pattern.search(norm) is not None
            else:  # A|B matches somewhere exactly when A or B does
                matched = any(
                    part.search(norm) for ns, part in parts if ns is None or not ns.isdisjoint(present)
                )
            if matched:
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
