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

import functools
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


def _trie(words: list[str]) -> str:
    """A regex of the words, factored by their common beginnings ("ба(?:лбес|ран)")."""
    if "" in words:
        return ""  # a word that is a beginning of the others: the shortest one already matches
    by_first: dict[str, list[str]] = {}
    for w in words:
        by_first.setdefault(w[0], []).append(w[1:])
    parts = [re.escape(ch) + _trie(rest) for ch, rest in sorted(by_first.items())]
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


class Prefixes:
    """`word.startswith(prefixes)` for many prefixes: `str.startswith` tries the prefixes one by
    one (hundreds of comparisons for a word); a regex of them factored by their common beginnings
    looks at each letter of the word once."""

    __slots__ = ("_match",)

    def __init__(self, prefixes: tuple[str, ...] | list[str]) -> None:
        self._match = re.compile(_trie(sorted(set(prefixes)))).match if prefixes else None

    def __call__(self, word: str) -> bool:
        return self._match is not None and self._match(word) is not None


def _occurs(fragment: str, word: str) -> bool:
    return word.startswith(fragment[1:]) if fragment[0] == "^" else fragment in word


class _FragmentTest:
    """Whether a word holds one of some fragments: a regex of the anchored ones (`Prefixes`) and
    one regex of literals for the rest, so a word is looked at in C, not fragment by fragment."""

    __slots__ = ("starts", "inside")

    def __init__(self, fragments: frozenset[str] | set[str]) -> None:
        self.starts = Prefixes([f[1:] for f in fragments if f[0] == "^"])
        inside = sorted(f for f in fragments if f[0] != "^")
        self.inside = re.compile("|".join(map(re.escape, inside))) if inside else None

    def __call__(self, word: str) -> bool:
        return self.starts(word) or self.inside is not None and self.inside.search(word) is not None


Masks = dict[str, int]  # phrase group -> bit mask of its patterns that can match (bit i: pattern i)


class PhraseFilter:
    """Per phrase pattern, the fragments its matches need. Fragments of letters are looked up per
    word (cached); fragments with punctuation ("х..", "₽") are searched in the whole text.

    The answer is per pattern, not only per group: a group's regex is an alternation of its
    patterns, and one leaving out the patterns that cannot match in a text finds exactly the same
    matches (a left-out alternative would have failed at every position), with less work per
    position ("под ключ" alone instead of twenty advert phrases because a word starts with "под")."""

    def __init__(self, groups: dict[str, list[str]]) -> None:
        self.always: Masks = {}  # patterns whose fragments are unknown: they always run
        # (group, bit, word test or None, fragments searched in the whole text)
        self._patterns: list[tuple[str, int, _FragmentTest | None, frozenset[str]]] = []
        words: set[str] = set()
        in_text: set[str] = set()
        for name, patterns in groups.items():
            for i, p in enumerate(patterns):
                req = required_fragments(p)
                if req is None:
                    self.always[name] = self.always.get(name, 0) | 1 << i
                    continue
                frags = {f for f in req if WORD_FRAGMENT.fullmatch(f.lstrip("^"))}
                # Fragments with punctuation are looked for in the whole text, anchored or not.
                texts = frozenset(f.lstrip("^") for f in req if not WORD_FRAGMENT.fullmatch(f.lstrip("^")))
                self._patterns.append((name, 1 << i, _FragmentTest(frags) if frags else None, texts))
                words |= frags
                in_text |= texts
        self._any_word = _FragmentTest(words)  # a first look: can the word start any pattern at all?
        self._in_text = re.compile("|".join(map(re.escape, sorted(in_text)))) if in_text else None
        self._text_tests = [(name, bit, texts) for name, bit, _, texts in self._patterns if texts]
        self._cache: dict[str, tuple[tuple[str, int], ...]] = {}
        self.idle: set[str] = set()  # words known to start no pattern: skipped by one set difference

    def masks_for(self, word: str) -> tuple[tuple[str, int], ...]:
        """(group, patterns) pairs that one word makes possible; () for most words."""
        found = self._cache.get(word)
        if found is None:
            masks: Masks = {}
            if self._any_word(word):
                for name, bit, test, _ in self._patterns:
                    if test is not None and test(word):
                        masks[name] = masks.get(name, 0) | bit
            found = tuple(masks.items())
            if len(self._cache) < 500_000:
                self._cache[word] = found
                if not found:
                    self.idle.add(word)
        return found

    def select(self, words: set[str] | list[str], text: str) -> Masks:
        """Per group whose regex can match `text` (given its words), the patterns that can."""
        out = dict(self.always)
        cache = self._cache
        for word in set(words).difference(self.idle) if isinstance(words, list) else words.difference(self.idle):
            found = cache.get(word)
            if found is None:
                found = self.masks_for(word)
            for name, bits in found:
                out[name] = out.get(name, 0) | bits
        if self._in_text is not None and self._in_text.search(text):
            for name, bit, texts in self._text_tests:
                if any(f in text for f in texts):
                    out[name] = out.get(name, 0) | bit
        return out

    def groups(self, words: set[str] | list[str], text: str) -> set[str]:
        """The groups whose regexes can match `text`, given its words."""
        return set(self.select(words, text))


class WordGate:
    """Whether a word can match any of some patterns, by their required fragments: a word with none
    of them skips the patterns (a big alternation costs microseconds per word; the gate is a
    match of its leading fragments (`Prefixes`) and one regex of literals). `whole`: patterns matched against the
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
        self.starts = Prefixes([f[1:] for f in frags if f[0] == "^"])
        inner = sorted(f for f in frags if f[0] != "^")
        self.inner = re.compile("|".join(map(re.escape, inner))) if inner else None

    def __call__(self, word: str) -> bool:
        if self.open or self.starts(word):
            return True
        return self.inner is not None and self.inner.search(word) is not None


def _first(items: Any) -> tuple[set[str], bool] | None:
    """The first characters a sequence can match, as pieces of a regex class, and whether it can
    match the empty string; None when some part is not understood."""
    pieces: set[str] = set()
    for op, arg in items:
        if op in (C.ASSERT, C.ASSERT_NOT, C.AT):
            continue  # zero width: the next part decides
        if op is C.LITERAL:
            return pieces | {re.escape(chr(arg))}, False
        if op is C.IN:
            for op2, arg2 in arg:
                if op2 is C.LITERAL:
                    pieces.add(re.escape(chr(arg2)))
                else:  # ranges, categories (\d, \s): many characters, too many places
                    return None
            return pieces, False
        if op is C.SUBPATTERN:
            if arg[1] or arg[2]:  # inline flags: not worth understanding
                return None
            found = _first(arg[-1])
        elif op is C.BRANCH:
            alternatives = [_first(alt) for alt in arg[1]]
            if any(a is None for a in alternatives):
                return None
            found = set().union(*(a[0] for a in alternatives)), any(a[1] for a in alternatives)  # type: ignore[index]
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
            found = _first(arg[2])
            if found is not None:
                found = found[0], found[1] or arg[0] == 0
        else:  # any character, back references, ...
            return None
        if found is None:
            return None
        pieces |= found[0]
        if not found[1]:
            return pieces, False
    return pieces, True


# A hint pays while its places are few (each is a call from Python): a few first letters, no
# ranges or categories.
MAX_HINT_CHARACTERS = 4


def first_letters(pattern: str) -> frozenset[str] | None:
    """The characters a match of `pattern` can start with (each as a piece of a regex class); None
    when they are not known or the pattern can match the empty string."""
    if P is None:
        return None
    try:
        found = _first(P.parse(pattern))
    except Exception:  # noqa: BLE001 - an unexpected parse tree only goes without the hint
        return None
    return None if found is None or found[1] or not found[0] else frozenset(found[0])


@functools.lru_cache(maxsize=1024)
def word_start_hint(letters: frozenset[str]) -> re.Pattern[str] | None:
    """For a phrase regex (its matches start where no [\\w*] character precedes) whose matches start
    with one of `letters` (first_letters): a regex that finds every place where a match can start.
    It begins on a character class, which `re` scans for fast (see moderation/hinted.py); None when
    there are so many letters that trying each place costs more."""
    if not letters or len(letters) > MAX_HINT_CHARACTERS:
        return None
    # The lookbehind spans the character too: "no [\w*] before it" (at the text's start, nothing is).
    return re.compile("[" + "".join(sorted(letters)) + r"](?<![\w*].)", re.DOTALL)
