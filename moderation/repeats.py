"""Repeat detection per author with MinHash + LSH: the cost of a lookup depends on how many
messages share a band with this one, never on the size of the whole history.

- duplicate: the same author posts a near-identical text within the window (cross-posts, re-posts);
- repeat_answered: the same author, the same problem, already answered N times, nothing new;
- accepted repeat: the same problem was answered before: `repeat_of` links it, and its answer
  must report the measures taken (000 §20, 001 §17, 002 §15, 003 §15).
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from moderation.normalizer import normalize

BANDS, ROWS = 16, 4
PERM = BANDS * ROWS
_MASK = (1 << 61) - 1
_SEEDS = [int.from_bytes(hashlib.blake2b(str(i).encode(), digest_size=8).digest(), "big") | 1 for i in range(PERM)]
STOP = frozenset("и в во не на с со что как а но да к ко у по за из от до для о об это то же ли бы мы вы они он она "
                 "я ты его ее их нас вам мне уже еще очень так там тут здесь когда где почему".split())
TOKEN = re.compile(r"[а-яa-z0-9]+")


def features(text: str) -> set[str]:
    """Word stems (first 5 letters) and stem bigrams of the normalized text."""
    words = [w[:5] for w in TOKEN.findall(normalize(text[:5000])[0]) if w not in STOP and len(w) > 1]
    return set(words) | {f"{a}_{b}" for a, b in zip(words, words[1:], strict=False)}


_SEED_ARRAY = np.array(_SEEDS, dtype=np.uint64)


def signature(feats: set[str]) -> tuple[int, ...]:
    """64 MinHash values: (hash · seed) mod 2^61 under each seed, the minimum over the features."""
    if not feats:
        return (0,) * PERM
    hashes = np.fromiter((struct.unpack("<Q", hashlib.blake2b(f.encode(), digest_size=8).digest())[0]
                          for f in feats), dtype=np.uint64, count=len(feats))
    products = (hashes[:, None] * _SEED_ARRAY[None, :]) & np.uint64(_MASK)  # wraps mod 2^64 first: fine
    return tuple(int(x) for x in products.min(axis=0))


def similarity(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    return sum(x == y for x, y in zip(a, b, strict=True)) / PERM


@dataclass
class Entry:
    msg_id: str
    author: str
    created_at: datetime | None
    sig: tuple[int, ...]
    feats: frozenset[str]
    answered: bool = False
    answer_count: int = 0  # how many times this problem had been answered when this was posted


@dataclass
class RepeatIndex:
    duplicate_similarity: float = 0.8
    problem_similarity: float = 0.45
    window: timedelta = timedelta(days=7)
    entries: dict[str, Entry] = field(default_factory=dict)
    buckets: dict[tuple[str, int, int], list[str]] = field(default_factory=lambda: defaultdict(list))

    def _keys(self, author: str, sig: tuple[int, ...]) -> list[tuple[str, int, int]]:
        return [(author, b, hash(sig[b * ROWS:(b + 1) * ROWS])) for b in range(BANDS)]

    def candidates(self, author: str, sig: tuple[int, ...]) -> list[Entry]:
        seen: set[str] = set()
        out = []
        for key in self._keys(author, sig):
            for mid in self.buckets.get(key, ()):
                if mid not in seen:
                    seen.add(mid)
                    out.append(self.entries[mid])
        return out

    def add(self, msg_id: str, author: str, text: str, created_at: datetime | None = None,
            answered: bool = False) -> Entry:
        if msg_id in self.entries:  # re-processing the same message never makes it its own repeat
            return self.entries[msg_id]
        feats = features(text)
        sig = signature(feats)
        entry = Entry(msg_id, author, created_at, sig, frozenset(feats), answered)
        self.entries[msg_id] = entry
        for key in self._keys(author, sig):
            self.buckets[key].append(msg_id)
        return entry

    def mark_answered(self, msg_id: str) -> None:
        if msg_id in self.entries:
            self.entries[msg_id].answered = True

    def __len__(self) -> int:
        return len(self.entries)
