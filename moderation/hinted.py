"""`finditer` for patterns that start with a lookbehind, found through a rare character first.

A pattern such as `(?<![\\w*])...` gives `re` no first character to look for, so `re` starts the
whole pattern at every position of the text (a call into the matcher per character). Most such
patterns cannot match without some rarer character near their start (a digit, a Latin letter, a
dot after a letter): a `hint` pattern that begins with that character class is scanned by `re` in
a tight loop, and the real pattern is tried only where a hint says a match could start.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

StartOf = Callable[[str, int], int]  # (text, where a hint matched) -> where a match would start


def finditer(pattern: re.Pattern[str], hint: re.Pattern[str], text: str, start_of: StartOf) -> Iterator[re.Match[str]]:
    """The matches of `pattern.finditer(text)`, the same ones in the same order, provided that
    - every match of `pattern` starting at p has a match of `hint` at some h >= p with
      start_of(text, h) == p,
    - start_of(text, h) never decreases as h grows, and
    - `pattern` never matches the empty string.
    Then the candidates are tried in increasing order and every real match start is among them,
    so the first candidate that matches at or after the previous match's end is the match
    `finditer` would find next (a lookbehind sees the text before the position `match` gets)."""
    pos = 0
    h = hint.search(text)
    while h is not None:
        start = start_of(text, h.start())
        if start >= pos and (m := pattern.match(text, start)) is not None:
            yield m
            pos = m.end()
            h = hint.search(text, max(pos, h.start() + 1))
        else:
            h = hint.search(text, h.start() + 1)


def sub(
    pattern: re.Pattern[str], hint: re.Pattern[str], text: str, start_of: StartOf, repl: Callable[[re.Match[str]], str]
) -> str:
    """`pattern.sub(repl, text)` through `finditer` (same conditions)."""
    pieces: list[str] = []
    pos = 0
    for m in finditer(pattern, hint, text, start_of):
        pieces += [text[pos : m.start()], repl(m)]
        pos = m.end()
    if not pieces:
        return text
    pieces.append(text[pos:])
    return "".join(pieces)
