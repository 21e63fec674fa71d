"""Repeat detection: earlier messages of the same author about the same problem.

- duplicate: the same author posts a near-identical text within the window (cross-posts, re-posts);
- repeat_answered: the same author, the same problem, already answered N times, nothing new;
- accepted repeat: the same problem was answered before: `repeat_of` links it, and its answer
  must report the measures taken (000 §20, 001 §17, 002 §15, 003 §15).

Every repeat is the same author's, so the index is partitioned by author: a lookup reads only that
author's history, never the whole history, so its cost does not grow with the number of messages.
An author with a long history (a bot, a tireless correspondent) gets MinHash/LSH buckets, so even
their lookups read only the few messages that share a band with the new one.

A message is kept as an array of unique 32-bit feature hashes (word stems and stem pairs): about
200 bytes, so a million messages of history fit in a few hundred megabytes and load in seconds.
"""

from __future__ import annotations

import re
import sys
import zlib
from array import array
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Any, NamedTuple

import numpy as np

from moderation.normalizer import normalize_text
from moderation.rules import MAX_CHECKED, blank_markup

STOP = frozenset(
    "и в во не на с со что как а но да к ко у по за из от до для о об это то же ли бы мы вы они он она "
    "я ты его ее их нас вам мне уже еще очень так там тут здесь когда где почему все всё "
    "добрый день здравствуйте пожалуйста спасибо".split()
)
TOKEN = re.compile(r"[а-яa-z0-9]+")
MAX_TEXT = 5000  # normalized characters that define a message's features; the rest adds nothing

# LSH for long histories: 24 bands of 3 MinHash rows over the words. Two messages whose words have
# Jaccard similarity 0.45 share a band with probability 0.90, at 0.8 with 1.0; at 0.05 with 0.003.
LSH_FROM = 64  # messages of one author before their history gets buckets (a scan is cheaper below)
MAX_CANDIDATES = 64  # the newest this many look-alikes are compared; older ones add nothing new
BANDS, ROWS = 24, 3
_rng = np.random.default_rng(20260105)
_A = _rng.integers(1, 2**63, size=BANDS * ROWS, dtype=np.uint64) | np.uint64(1)
_B = _rng.integers(0, 2**63, size=BANDS * ROWS, dtype=np.uint64)

# The low two bits of a feature hash say what it is.
WORD, PAIR, NUMBER = 0, 1, 2
Features = array  # array("I"): unique feature hashes in no particular order, kind in the low two bits


def features(text: str) -> Features:
    """Word stems (first 5 letters), numbers (house, flat: "дом 5" is not "дом 7") and word pairs.
    Words and numbers say what the problem is; pairs also say how it is put, so they tell a copy."""
    return probe_of_text(text).feats


class _Cache(dict):
    """A memo of `value`, capped: past the cap a new key is computed and not kept."""

    CAP = 500_000

    def __missing__(self, key: Any) -> Any:  # the key and value types are the subclass's
        value = self.value(key)
        if len(self) < self.CAP:
            self[key] = value
        return value


class _ChunkStems(_Cache):
    """Per whitespace-separated chunk of a normalized text ("улице", "5,", "htps://clck.ru/a"): the
    stems of its tokens that say something (not a stop word, not a single letter), in order.
    Chunks repeat, so a message costs a split and a dictionary lookup per chunk, both in C; the
    regex runs once per new chunk. Whitespace is never part of a token, so the tokens are exactly
    those TOKEN.findall finds in the whole text."""

    @staticmethod
    def value(chunk: str) -> tuple[str, ...]:
        return tuple(
            tok if tok.isdigit() else tok[:5]
            for tok in TOKEN.findall(chunk)
            if tok not in STOP and (len(tok) > 1 or tok.isdigit())
        )


class _StemFeatures(_Cache):
    """Per stem: its word feature (a number is its own kind: "дом 5" is not "дом 7")."""

    @staticmethod
    def value(stem: str) -> int:
        return zlib.crc32(stem.encode()) & ~3 | (NUMBER if stem.isdigit() else WORD)


class _PairFeatures(_Cache):
    """Per pair of neighbouring stems: the feature of "a b". Pairs repeat too."""

    @staticmethod
    def value(pair: tuple[str, str]) -> int:
        return zlib.crc32(f"{pair[0]} {pair[1]}".encode()) & ~3 | PAIR


_CHUNKS = _ChunkStems()
_STEMS = _StemFeatures()
_PAIRS = _PairFeatures()


def _hashes(norm: str) -> set[int]:
    """The feature hashes of a normalized text: every step a C-level map over a cache."""
    stems = list(chain.from_iterable(map(_CHUNKS.__getitem__, norm[:MAX_TEXT].split())))
    hashes = set(map(_STEMS.__getitem__, stems))
    hashes.update(map(_PAIRS.__getitem__, zip(stems, stems[1:], strict=False)))
    return hashes


class Probe(NamedTuple):
    """A message's features in the forms a look-up and the index need, each computed once: the
    array (what the index keeps), the same hashes as a set (what `find` intersects with)
    and their `kinds`."""

    feats: Features
    hashes: set[int]
    kinds: tuple[int, int]


def probe_of_normalized(norm: str) -> Probe:
    """The probe of a text already normalized the way the rules normalize it (markup blanked):
    the filter hands over what the rules computed instead of normalizing twice."""
    hashes = _hashes(norm)
    feats = array("I", hashes)
    return Probe(feats, hashes, kinds(feats))


def probe_of_text(text: str) -> Probe:
    return probe_of_normalized(normalize_text(blank_markup(text[:MAX_CHECKED])))


def as_probe(message: str | Features | Probe) -> Probe:
    """A text, its features or its probe, as a probe."""
    if isinstance(message, Probe):
        return message
    if isinstance(message, str):
        return probe_of_text(message)
    return Probe(message, set(message), kinds(message))


MIN_SHARED_WORDS = 3  # fewer shared words say nothing about "the same problem"


# Byte -> the kind in its low two bits: the kinds of a whole array are counted in C from the low
# byte of each 32-bit hash (`bytes.translate`, then `count`).
_KIND_OF_BYTE = bytes(b & 3 for b in range(256))
_LOW_BYTE = 0 if sys.byteorder == "little" else 3


def kinds(feats: Features | set[int]) -> tuple[int, int]:
    """(words and numbers, numbers) among a message's features."""
    if isinstance(feats, array) and feats.itemsize == 4:
        low = feats.tobytes()[_LOW_BYTE::4].translate(_KIND_OF_BYTE)
        return len(low) - low.count(PAIR), low.count(NUMBER)
    words = numbers = 0
    for x in feats:
        kind = x & 3
        if kind != PAIR:
            words += 1
            numbers += kind == NUMBER
    return words, numbers


def similarity(
    probe: set[int],
    other: Features,
    probe_kinds: tuple[int, int] | None = None,
    other_kinds: tuple[int, int] | None = None,
) -> tuple[float, float]:
    """How alike two messages are: as copies (Jaccard over words and word pairs, near 1 for a
    copy), and as the same problem (the share of the shorter message's words and numbers found in
    the other: a short "фонарь на Ленина 5 так и не горит" after a long first letter). Different
    numbers and none shared (another house, another flat) make them different messages.
    `probe_kinds`, `other_kinds`: `kinds` of each, when the caller keeps them (the index does)."""
    if not probe or not other:
        return 0.0, 0.0
    common = probe.intersection(other)  # in C; only the shared features are looked at one by one
    shared = len(common)
    shared_words, shared_numbers = kinds(common)
    probe_words, numbers_here = probe_kinds or kinds(probe)
    other_words, numbers_there = other_kinds or kinds(other)
    if numbers_here and numbers_there and not shared_numbers:
        return 0.0, 0.0
    copy = shared / (len(probe) + len(other) - shared)
    if shared_words < MIN_SHARED_WORDS:
        return copy, 0.0
    return copy, shared_words / min(probe_words, other_words)


def _band_keys(feats: Features) -> list[int]:
    """MinHash of the words (multiply-shift hashing of each, the minimum per row), in bands."""
    x = np.frombuffer(feats, dtype=np.uint32)
    x = x[(x & 3) != PAIR].astype(np.uint64)
    if not len(x):
        return []
    sig = ((x[:, None] * _A[None, :] + _B[None, :]) >> np.uint64(32)).min(axis=0)
    return [hash((b, *sig[b * ROWS : (b + 1) * ROWS].tolist())) for b in range(BANDS)]


@dataclass(frozen=True)
class RepeatMatch:
    msg_id: str
    similarity: float  # words and word pairs: near 1 for a copy
    problem_similarity: float  # words alone, within the shorter message: the same problem told again
    created_at: datetime | None
    answered: bool
    features: Features


class _History:
    """One author's messages, oldest first, in parallel lists (compact: no object per message)."""

    __slots__ = ("ids", "times", "feats", "kinds", "buckets")

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.times: list[datetime | None] = []
        self.feats: list[Features] = []
        self.kinds = array("I")  # per message: words and numbers, then numbers (`kinds`)
        self.buckets: dict[int, list[int]] | None = None

    def append(self, msg_id: str, created_at: datetime | None, probe: Probe) -> int:
        pos = len(self.ids)
        self.ids.append(msg_id)
        self.times.append(created_at)
        self.feats.append(probe.feats)
        self.kinds.extend(probe.kinds)
        if self.buckets is not None:
            self._bucket(pos)
        elif len(self.ids) >= LSH_FROM:
            self.buckets = defaultdict(list)
            for p in range(len(self.ids)):
                self._bucket(p)
        return pos

    def _bucket(self, pos: int) -> None:
        assert self.buckets is not None
        for key in _band_keys(self.feats[pos]):
            self.buckets[key].append(pos)

    def candidates(self, feats: Features) -> list[int]:
        if self.buckets is None:
            return list(range(len(self.ids)))
        found: set[int] = set()
        for key in _band_keys(feats):
            found.update(self.buckets.get(key, ())[-MAX_CANDIDATES:])
        return sorted(found)[-MAX_CANDIDATES:]


class RepeatIndex:
    """Earlier messages per author. `add` records one; `find` returns the author's earlier messages
    similar to a text. Pure in-memory; the pipeline refills it from storage on start."""

    def __init__(self) -> None:
        self._authors: dict[str, _History] = {}
        self._where: dict[str, tuple[str, int]] = {}  # msg_id -> (author, position)
        self._answered: set[str] = set()

    def __contains__(self, msg_id: object) -> bool:
        return msg_id in self._where

    def __len__(self) -> int:
        return len(self._where)

    def add(
        self, msg_id: str, author: str, text: str, created_at: datetime | None = None, answered: bool = False
    ) -> None:
        self.add_features(msg_id, author, probe_of_text(text), created_at, answered)

    def add_features(
        self,
        msg_id: str,
        author: str,
        feats: Features | Probe,
        created_at: datetime | None = None,
        answered: bool = False,
    ) -> None:
        """`add` with the features already computed (the filter computes them once per message)."""
        if msg_id not in self._where:  # re-processing the same message never makes it its own repeat
            history = self._authors.get(author)
            if history is None:
                history = self._authors[author] = _History()
            self._where[msg_id] = (author, history.append(msg_id, created_at, as_probe(feats)))
        if answered:
            self._answered.add(msg_id)

    def mark_answered(self, msg_id: str) -> None:
        if msg_id in self._where:
            self._answered.add(msg_id)

    def is_answered(self, msg_id: str) -> bool:
        return msg_id in self._answered

    def find(
        self,
        author: str,
        text_or_features: str | Features | Probe,
        min_problem: float = 0.5,
        min_copy: float = 0.8,
        before: str | None = None,
    ) -> list[RepeatMatch]:
        """The author's earlier messages that are copies of this one (`min_copy`) or about the same
        problem (`min_problem`), the closest copies first. `before`: only messages recorded before
        that one (to judge a recorded message again, as when a crashed run is retried)."""
        history = self._authors.get(author)
        if history is None:
            return []
        probe = as_probe(text_or_features)
        limit = len(history.ids)
        if before is not None and self._where.get(before, ("", 0))[0] == author:
            limit = self._where[before][1]
        matches = []
        for pos in history.candidates(probe.feats):
            if pos >= limit:
                continue
            other_kinds = (history.kinds[2 * pos], history.kinds[2 * pos + 1])
            copy, problem = similarity(probe.hashes, history.feats[pos], probe.kinds, other_kinds)
            if problem >= min_problem or copy >= min_copy:
                msg_id = history.ids[pos]
                matches.append(
                    RepeatMatch(
                        msg_id,
                        copy,
                        problem,
                        history.times[pos],
                        msg_id in self._answered,
                        history.feats[pos],
                    )
                )
        matches.sort(key=lambda m: (-m.similarity, -m.problem_similarity))
        return matches
