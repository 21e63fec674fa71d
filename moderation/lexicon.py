"""The moderation lexicon: data files (moderation/data/lexicon.yaml plus a profile's extras),
validated, compiled once.

Sections of a lexicon file (all lists of regexes over normalized text unless said otherwise):
- obscene, insult: whole words; every Cyrillic letter also matches a `*` (a hidden letter);
  `{prefix}` in an obscene pattern stands for the verbal prefixes (`prefix`);
- obscene_inside, insult_inside: roots that count inside a longer, glued word;
- masked_forms: plain words; "х**ня" is obscene when it fits one (stars for one or more letters);
- masked_insults: the same for insults ("к**тин", "д*билы");
- exceptions: plain word beginnings that are never obscene ("застрахуй", "хутор");
- disguised_only: words that are a slur only when disguised ("вaта" with a Latin "a");
- not_insult: idioms and reported speech around an insult word ("держат нас за дураков");
- obscene_phrases, threat, harm_intent: phrases, starting and ending at word boundaries;
- spam: strong (2) and ordinary (1) advert markers, contacts (1 together), a link farm, a threshold.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from moderation import hinted
from moderation.phonetic import SoundsLike
from moderation.triggers import PhraseFilter, Prefixes, WordGate, first_letters, word_start_hint
from otklik.datafile import load_model

DEFAULT = Path(__file__).resolve().parent / "data" / "lexicon.yaml"
CYRILLIC = re.compile("[а-я]")
MAX_PHRASE_PARTS = 4096  # compiled phrase regexes with some of a group's patterns (a few dozen in practice)


def _valid_pattern(pattern: str) -> str:
    try:
        re.compile(pattern.replace("{prefix}", ""))
    except re.error as exc:
        raise ValueError(f"pattern {pattern!r} is not a valid regex: {exc}") from None
    return pattern


# A regex, checked one by one so an error names the item's own line in the data file.
Pattern = Annotated[str, AfterValidator(_valid_pattern)]


class Spam(BaseModel):
    threshold: int = Field(2, ge=1)
    strong: list[Pattern] = Field(default_factory=list)  # count 2
    markers: list[Pattern] = Field(default_factory=list)  # count 1
    contacts: list[Pattern] = Field(default_factory=list)  # add 1 together, however many
    link_farm: int = Field(3, ge=2)  # distinct untrusted sites in one message
    trusted_sites: list[str] = Field(default_factory=list)  # host suffixes citizens link to (portals, photos)


class LexiconFile(BaseModel):
    prefix: str = ""
    obscene: list[Pattern] = Field(default_factory=list)
    obscene_inside: list[Pattern] = Field(default_factory=list)
    insult_inside: list[Pattern] = Field(default_factory=list)
    obscene_phrases: list[Pattern] = Field(default_factory=list)
    masked_forms: list[str] = Field(default_factory=list)
    masked_insults: list[str] = Field(default_factory=list)  # as masked_forms, for insults
    exceptions: list[str] = Field(default_factory=list)
    insult: list[Pattern] = Field(default_factory=list)
    disguised_only: list[Pattern] = Field(default_factory=list)
    not_insult: list[Pattern] = Field(default_factory=list)
    threat: list[Pattern] = Field(default_factory=list)
    harm_intent: list[Pattern] = Field(default_factory=list)
    spam: Spam = Field(default_factory=Spam)

    def merged(self, more: LexiconFile) -> LexiconFile:
        """This lexicon extended by a municipality's file: lists are added, settings kept."""
        lists = {
            name: getattr(self, name) + getattr(more, name)
            for name in type(self).model_fields
            if isinstance(getattr(self, name), list)
        }
        spam = self.spam.model_copy(
            update={
                name: getattr(self.spam, name) + getattr(more.spam, name)
                for name in ("strong", "markers", "contacts", "trusted_sites")
            }
        )
        return self.model_copy(update={**lists, "spam": spam})


_RUN = re.compile(r"([^\W\d_])\1+(?![?*+{])")


def squeeze(pattern: str) -> str:
    """Repeated letters in a pattern, as in the normalized text ("ссылке" is matched as "сылке")."""
    return _RUN.sub(r"\1", pattern.replace("ё", "е"))


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


def _whole(patterns: list[str], prefix: str) -> re.Pattern[str] | None:
    """One word at a time (fullmatch): rules.py caches the verdict per word. Only whether a word
    matches counts, so the patterns that start with the verbal prefixes share one optional prefix
    group ("(?:prefix)?(?:ху..|пи..)") instead of each trying all the prefixes in turn."""
    if not patterns:
        return None
    prefixed = [p[len("{prefix}") :] for p in patterns if p.startswith("{prefix}")]
    rest = [p for p in patterns if not p.startswith("{prefix}")]
    parts = [allow_wildcards(squeeze(p.replace("{prefix}", prefix))) for p in rest]
    if prefixed:
        tails = "|".join(f"(?:{allow_wildcards(squeeze(p.replace('{prefix}', prefix)))})" for p in prefixed)
        parts.append(f"{allow_wildcards(squeeze(prefix))}(?:{tails})")
    return re.compile("|".join(f"(?:{p})" for p in parts))


def _phrases(patterns: list[str], whole: bool = False) -> re.Pattern[str] | None:
    """Phrases start at a word boundary; `whole` ones also end at one ("закопаю", not "закопают")."""
    if not patterns:
        return None
    end = r"(?![а-яa-z])" if whole else ""
    return re.compile(r"(?<![\w*])(?:" + "|".join(f"(?:{squeeze(p)})" for p in patterns) + r")" + end)


def _inside(patterns: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(squeeze(p) for p in patterns)) if patterns else None


class Lexicon:
    __hash__ = object.__hash__  # identity: compiled once, used as a cache key

    def __init__(self, data: LexiconFile) -> None:
        self.data = data
        self.obscene_word = _whole(data.obscene, data.prefix)
        self.insult_word = _whole(data.insult, "")
        self.disguised_word = _whole(data.disguised_only, "")
        self.obscene_inside = _inside(data.obscene_inside)
        self.insult_inside = _inside(data.insult_inside)
        # For a word without `*` (where the wildcards change nothing): can any of the four match?
        self.word_gate = WordGate(
            [squeeze(p.replace("{prefix}", data.prefix)) for p in data.obscene]
            + [squeeze(p) for p in data.insult],
            [squeeze(p) for p in data.obscene_inside + data.insult_inside],
        )
        # Self-censored words ("х**ня", "***ло") are matched against full forms, one per line.
        self.masked_forms = "\n".join(sorted({squeeze(w) for w in data.masked_forms}))
        self.masked_insults = "\n".join(sorted({squeeze(w) for w in data.masked_insults}))
        # A word spelt as it sounds ("епал", "питары") reads as one of the same forms.
        self.sounds_like = SoundsLike(
            {squeeze(w): "insult" for w in data.masked_insults} | {squeeze(w): "obscene" for w in data.masked_forms}
        )
        self.not_insult = _phrases(data.not_insult, whole=True)
        # Phrase rules by group; each runs only on texts holding one of its key fragments.
        groups = {
            "obscene_phrases": (data.obscene_phrases, True),
            "threat": (data.threat, True),
            "harm_intent": (data.harm_intent, True),
            "spam_strong": (data.spam.strong, False),
            "spam_markers": (data.spam.markers, False),
            "spam_contacts": (data.spam.contacts, False),
        }
        self.phrase_patterns = {
            name: p
            for name, (patterns, whole) in groups.items()
            if (p := _phrases(patterns, whole)) is not None
        }
        self._phrase_sources = {name: groups[name] for name in self.phrase_patterns}
        self.phrase_masks = {name: (1 << len(groups[name][0])) - 1 for name in self.phrase_patterns}  # all patterns
        # A group's regex with only some of its patterns, by (group, bit mask): see phrase_regex.
        self._phrase_parts: dict[tuple[str, int], re.Pattern[str]] = {}
        # Per group, the first letters of each of its patterns; per (group, bit mask), where the
        # matches of that regex can start (word_start_hint) or None: see phrase_spans.
        self._phrase_firsts: dict[str, list[frozenset[str] | None]] = {}
        self._phrase_hints: dict[tuple[str, int], re.Pattern[str] | None] = {}
        self.phrase_filter = PhraseFilter(
            {name: [squeeze(p) for p in patterns] for name, (patterns, _) in groups.items()}
        )
        self.word_cache: dict[str, str | None] = {}
        self.no_reason: set[str] = set()  # cached words with no reason: skipped by a set difference
        self.not_disguised: set[str] = set()  # words that are no slur even when disguised
        self.halves: set[str] = set()  # cached words that could be half of a split word ("дро чи")
        self.sounded: set[str] = set()  # cached words obscene only as they sound ("епал"): moderation.phonetic
        # Words known to matter to nothing: no reason, no half of a split word, no phrase pattern.
        # Most words of a text are in it, so one set difference leaves the few worth a look (a
        # look-up in a big set is a cache miss: one such pass instead of three).
        self.idle_words: set[str] = set()
        self.busy_words: set[str] = set()  # clean words that are not idle (halves, phrase starts)
        self.trusted_sites = tuple(squeeze(s.lower().lstrip(".")) for s in data.spam.trusted_sites)
        self.trusted_suffixes = tuple("." + s for s in self.trusted_sites)  # "." + host ends with one
        self.exceptions = tuple(sorted({squeeze(e) for e in data.exceptions}))
        self.exception_start = Prefixes(self.exceptions)  # `startswith(self.exceptions)`, faster
        self.exception_inside = (
            re.compile("|".join(map(re.escape, self.exceptions))) if self.exceptions else None
        )

    def phrase_regex(self, group: str, patterns: int) -> re.Pattern[str] | None:
        """The regex of a phrase group with only the patterns in the bit mask `patterns` (bit i:
        the group's pattern i), in their order: where the others cannot match (PhraseFilter), it
        finds the same matches as the whole group's regex with fewer alternatives to try."""
        key = (group, patterns)
        found = self._phrase_parts.get(key)
        if found is not None:
            return found
        full = self.phrase_patterns.get(group)
        if full is None or patterns == self.phrase_masks[group] or len(self._phrase_parts) >= MAX_PHRASE_PARTS:
            return full  # all of them, or too many combinations seen: the whole regex is never wrong
        sources, whole = self._phrase_sources[group]
        found = _phrases([p for i, p in enumerate(sources) if patterns >> i & 1], whole)
        if found is not None:
            self._phrase_parts[key] = found
        return found

    def phrase_spans(self, group: str, patterns: int, text: str) -> list[tuple[int, int]]:
        """(start, end) of every match of `phrase_regex(group, patterns)`, as its `finditer` finds
        them. A phrase regex starts with a lookbehind, so `re` would try it at every position; it
        is tried only where a word starts with a letter a match can start with, when there are few
        (moderation/hinted.py), found by a class scan in C."""
        pattern = self.phrase_regex(group, patterns)
        if pattern is None:
            return []
        if pattern is self.phrase_patterns[group]:
            patterns = self.phrase_masks[group]  # the whole group's regex: all of its patterns
        key = (group, patterns)
        if key in self._phrase_hints:
            hint = self._phrase_hints[key]
        else:
            hint = self._phrase_hints[key] = self._phrase_hint(group, patterns)
        matches = pattern.finditer(text) if hint is None else hinted.finditer(pattern, hint, text, _same)
        return [m.span() for m in matches]

    def _phrase_hint(self, group: str, patterns: int) -> re.Pattern[str] | None:
        firsts = self._phrase_firsts.get(group)
        if firsts is None:  # each pattern as _phrases puts it in the regex
            firsts = self._phrase_firsts[group] = [first_letters(squeeze(p)) for p in self._phrase_sources[group][0]]
        letters: set[str] = set()
        for i, found in enumerate(firsts):
            if patterns >> i & 1:
                if found is None:
                    return None
                letters |= found
        return word_start_hint(frozenset(letters))

    @classmethod
    def load(cls, *extra: str | Path) -> Lexicon:
        return _load(tuple(str(p) for p in extra))


def _same(_text: str, i: int) -> int:
    return i  # a hint of word_start_hint is where the match would start


@functools.cache
def _load(extra: tuple[str, ...]) -> Lexicon:
    data = load_model(DEFAULT, LexiconFile)
    for path in extra:
        data = data.merged(load_model(path, LexiconFile))
    return Lexicon(data)
