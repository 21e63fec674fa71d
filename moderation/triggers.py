"""Which words can start a phrase rule: a cheap filter so a phrase regex only runs on a text that
could match it.

Python's `re` tries a big alternation at every position of the text; with a hundred phrases that
is most of the time spent on a message that matches nothing. Every match of a pattern contains
one of a few literal fragments (`убью|прибью` in a threat, `бесплатн` in an advert): we find them
by walking the parsed pattern, and a text whose words contain none of them skips the regex. The
fragments are derived from the patterns themselves, so a municipality that adds a phrase to its
lexicon gets its filter for free, and an unusual pattern only means the filter lets everything
through (slower, never wrong).
"""

from __future__ import annotations

import re
from typing import Any

try:  # the parser behind `re`; its shape is stable but private, so any surprise disables the filter
    from re import _constants as C  # type: ignore[attr-defined]
    from re import _parser as P  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - older or newer Pythons
    P = C = None

WORD_FRAGMENT = re.compile(r"[\w*]+")
PLAIN_LETTER = re.compile("[а-я]")
Required = frozenset[str] | None  # every match contains one of these fragments; None: unknown


def _weight(fragment: str) -> int:
    """How selective a fragment is: longer is rarer, and symbols or digits rarer than letters.
    A fragment marked "^" must start a word, which makes it rarer still."""
    anchored = fragment.startswith("^")
    body = fragment[1:] if anchored else fragment
    return len(body) + 3 * sum(not PLAIN_LETTER.match(ch) for ch in body) + anchored


def _best(candidates: list[frozenset[str]]) -> Required:
    """Of several sets that are all required, the most selective."""
    if not candidates:
        return None
    return max(candidates, key=lambda s: (min(_weight(x) for x in s), -len(s)))


def _literal(op: Any, arg: Any) -> str | None:
    """The character a LITERAL node matches, if it can be part of a fragment (not a space)."""
    if op is C.LITERAL and not chr(arg).isspace():
        return chr(arg)
    return None


def _prefixes(items: Any) -> set[str] | None:
    """The literal beginnings of a sequence, when every way through it starts with one."""
    if not items:
        return None
    op, arg = items[0]
    if (ch := _literal(op, arg)) is not None:
        run = ch
        for op2, arg2 in list(items)[1:]:
            if (ch2 := _literal(op2, arg2)) is None:
                break
            run += ch2
        return {run}
    if op is C.SUBPATTERN:
        return _prefixes(arg[-1])
    if op is C.BRANCH:
        out: set[str] = set()
        for alt in arg[1]:
            if (p := _prefixes(alt)) is None:
                return None
            out |= p
        return out
    return None


def _required(items: Any, at_start: bool = True) -> Required:
    """Fragments one of which every match contains. `at_start`: the sequence begins the match,
    which begins a word (phrase rules are anchored there), so its leading run is marked "^"."""
    candidates: list[frozenset[str]] = []
    run = ""
    anchored = at_start
    items = list(items)
    for i, (op, arg) in enumerate(items):
        if (ch := _literal(op, arg)) is not None:
            run += ch
            continue
        # "х\*+", "х\.{2,}": a repeated character extends the run by its minimum count, then ends it.
        if (
            op is C.MAX_REPEAT
            and arg[0] >= 1
            and len(arg[2]) == 1
            and (ch := _literal(*arg[2][0])) is not None
        ):
            run += ch * min(arg[0], 3)
            op = None
        # "пере(?:ходи|йди)": `re` factors out the common start; join it back to each alternative.
        elif run and op in (C.SUBPATTERN, C.BRANCH) and (tails := _prefixes([(op, arg)])):
            candidates.append(frozenset(("^" if anchored else "") + run + t for t in tails))
        if run:
            candidates.append(frozenset([("^" if anchored else "") + run]))
            run = ""
        if op is None:
            anchored = False
            continue
        first = anchored and i == 0
        if op is C.SUBPATTERN:
            sub = _required(arg[-1], first)
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
            sub = _required(arg[2], first) if arg[0] >= 1 else None
        elif op is C.BRANCH:
            alternatives = [_required(alt, first) for alt in arg[1]]
            sub = None if any(a is None for a in alternatives) else frozenset().union(*alternatives)
        else:  # classes, categories, anchors, lookarounds: no literal to rely on
            sub = None
        if sub:
            candidates.append(sub)
        anchored = False
    if run:
        candidates.append(frozenset([("^" if anchored else "") + run]))
    return _best(candidates)


def required_fragments(pattern: str, at_start: bool = True) -> Required:
    """Fragments one of which every match of `pattern` contains within one word; None if unknown.
    `at_start`: matches begin a word, so a leading fragment is marked "^" (it starts the word)."""
    if P is None:
        return None
    try:
        return _required(P.parse(pattern), at_start)
    except Exception:  # noqa: BLE001 - an unexpected parse tree only disables the filter
        return None


def _occurs(fragment: str, word: str) -> bool:
    return word.startswith(fragment[1:]) if fragment[0] == "^" else fragment in word


class PhraseFilter:
    """Per phrase group, the fragments its matches need. Fragments of letters are looked up per
    word (cached); fragments with punctuation ("х..", "₽") are searched in the whole text."""

    def __init__(self, groups: dict[str, list[str]]) -> None:
        self.always: set[str] = set()
        self.fragments: dict[str, frozenset[str]] = {}  # found inside one word
        self.in_text: dict[str, frozenset[str]] = {}  # found anywhere in the text
        for name, patterns in groups.items():
            needs: set[str] = set()
            for p in patterns:
                req = required_fragments(p)
                if req is None:
                    self.always.add(name)
                    break
                needs |= req
            else:
                self.fragments[name] = frozenset(f for f in needs if WORD_FRAGMENT.fullmatch(f.lstrip("^")))
                # Fragments with punctuation are looked for in the whole text, anchored or not.
                self.in_text[name] = frozenset(
                    f.lstrip("^") for f in needs if not WORD_FRAGMENT.fullmatch(f.lstrip("^"))
                )
        self._cache: dict[str, frozenset[str]] = {}
        every = sorted({f for frags in self.in_text.values() for f in frags})
        self._in_text = re.compile("|".join(map(re.escape, every))) if every else None  # any of them
        self._none: set[str] = set()  # words known to start no group: skipped by one set difference
        # Per group, its word fragments as a tuple of beginnings (str.startswith takes a tuple) and
        # one regex of the rest: a new word is looked at in C, not fragment by fragment.
        self._tests: list[tuple[str, tuple[str, ...], re.Pattern[str] | None]] = []
        for name, frags in self.fragments.items():
            starts = tuple(sorted(f[1:] for f in frags if f[0] == "^"))
            inside = sorted(f for f in frags if f[0] != "^")
            pattern = re.compile("|".join(map(re.escape, inside))) if inside else None
            self._tests.append((name, starts, pattern))

    def groups_for(self, word: str) -> frozenset[str]:
        found = self._cache.get(word)
        if found is None:
            found = frozenset(
                name
                for name, starts, inside in self._tests
                if word.startswith(starts) or inside is not None and inside.search(word)
            )
            if len(self._cache) < 500_000:
                self._cache[word] = found
                if not found:
                    self._none.add(word)
        return found

    def groups(self, words: set[str] | list[str], text: str) -> set[str]:
        """The groups whose regexes can match `text`, given its words."""
        cache = self._cache
        out = set(self.always)
        for word in words.difference(self._none) if isinstance(words, set) else words:
            found = cache.get(word)
            if found is None:
                found = self.groups_for(word)
            if found:
                out |= found
        if self._in_text is not None and self._in_text.search(text):
            for name, frags in self.in_text.items():
                if name not in out and any(f in text for f in frags):
                    out.add(name)
        return out


class WordGate:
    """Whether a word can match any of some patterns, by their required fragments: a word with none
    of them skips the patterns (a big alternation costs microseconds per word; the gate is a
    `startswith` with a tuple and one regex of literals). `whole`: patterns matched against the
    whole word (a leading fragment must start it); `inside`: patterns searched within it. A pattern
    whose fragments are unknown opens the gate for every word."""

    def __init__(self, whole: list[str], inside: list[str]) -> None:
        frags: set[str] = set()
        self.open = False
        for patterns, at_start in ((whole, True), (inside, False)):
            for p in patterns:
                req = required_fragments(p, at_start)
                if not req:
                    self.open = True
                    return
                frags |= req
        self.starts = tuple(sorted(f[1:] for f in frags if f[0] == "^"))
        inner = sorted(f for f in frags if f[0] != "^")
        self.inner = re.compile("|".join(map(re.escape, inner))) if inner else None

    def __call__(self, word: str) -> bool:
        if self.open or word.startswith(self.starts):
            return True
        return self.inner is not None and self.inner.search(word) is not None
