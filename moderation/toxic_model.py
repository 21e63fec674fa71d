"""A small learned model of insulting comments: what the word rules miss (mockery, slurs they do
not list, "кремлеботы", "насекомое", "веслоухий"), scored word by word.

Not shipped: moderation/toxic_train.py measures what it adds on the dev sets (little; see there).
The model is linear over hashed features of each normalized word (the word, its first five
letters, its character 3- and 4-grams), so a text's score is the bias plus the sum of its words'
scores divided by the square root of the number of words. A word's score is computed once per
process and cached: scoring a message is a dictionary lookup per word. The weights are hashed
(no word of the training data is stored); a model saved at moderation/data/toxic_model.npz is
loaded from there, nothing is downloaded.

The word with the highest score is the span the curator sees (reason `insult`).
"""

from __future__ import annotations

import functools
import math
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from otklik.exceptions import ConfigError

DEFAULT = Path(__file__).resolve().parent / "data" / "toxic_model.npz"
BITS = 18
MASK = (1 << BITS) - 1
FORMAT = 1
TOKEN = re.compile(r"[а-яa-z]+")
MAX_CACHE = 500_000


def word_features(word: str) -> list[int]:
    """Hashed features of one normalized word."""
    feats = [f"w={word}"]
    if len(word) > 5:
        feats.append(f"p={word[:5]}")
    padded = f"<{word}>"
    for n in (3, 4):
        feats += [padded[i : i + n] for i in range(len(padded) - n + 1)]
    return [zlib.crc32(f.encode()) & MASK for f in feats]


def words(norm: str) -> list[re.Match[str]]:
    return list(TOKEN.finditer(norm))


@dataclass
class ToxicModel:
    weights: np.ndarray  # float32, 2**BITS
    bias: float
    threshold: float  # the score above which a text is dropped (chosen by cross-validation)

    def __post_init__(self) -> None:
        self._cache: dict[str, float] = {}
        self._w = self.weights.tolist()  # Python floats: faster to index one by one than numpy

    def word_score(self, word: str) -> float:
        score = self._cache.get(word)
        if score is None:
            score = sum(self._w[h] for h in word_features(word))
            if len(self._cache) < MAX_CACHE:
                self._cache[word] = score
        return score

    def score(self, norm: str) -> tuple[float, tuple[int, int] | None]:
        """(the text's score, the span of its most insulting word in `norm`)."""
        cache, total, best, best_span, n = self._cache, 0.0, -math.inf, None, 0
        for m in TOKEN.finditer(norm):
            word = m.group()
            s = cache.get(word)
            if s is None:
                s = self.word_score(word)
            total += s
            n += 1
            if s > best:
                best, best_span = s, (m.start(), m.end())
        if not n:
            return self.bias, None
        return self.bias + total / math.sqrt(n), best_span

    def save(self, path: Path = DEFAULT) -> None:
        np.savez_compressed(
            path,
            format=np.array(FORMAT),
            weights=self.weights.astype(np.float32),
            bias=np.array(self.bias),
            threshold=np.array(self.threshold),
        )


@functools.cache
def load(path: str = str(DEFAULT)) -> ToxicModel | None:
    """The shipped model, or None when there is none (the rules then work alone)."""
    p = Path(path)
    if not p.exists():
        return None
    with np.load(p) as data:
        if int(data["format"]) != FORMAT:
            raise ConfigError(f"{p}: toxic model format {int(data['format'])}, expected {FORMAT}; retrain it")
        return ToxicModel(data["weights"], float(data["bias"]), float(data["threshold"]))
