"""Russian word vectors for the trained model: the mean vector of a message's words.

TF-IDF only knows the words the archive happens to contain; a municipality's few hundred rows per
group miss most synonyms («фонарь» / «освещение», «яма» / «выбоина»). Pretrained vectors carry
that knowledge in. We use Natasha's navec news vectors (250k words, 300 dimensions, 26 MB,
product-quantized), because the `natasha` package ships the file itself: nothing is fetched at
run time, and a lookup is a dictionary hit plus a small decode, so routing stays fast.

Measured on the Kursk dev appeals (`otklik eval router`, 5-fold CV over eight fold seeds): the
model gains about half a point of accuracy with this block. A heavier multilingual sentence
encoder (multilingual-e5-small, 4-bit) gained no more and took ~150 ms a message.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from otklik.exceptions import ConfigError
from router.text import normalize, words

VECTORS_FILE = "navec_news_v1_1B_250K_300d_100q.tar"
DIM = 300


def default_vectors_path() -> Path:
    """The vectors bundled in the `natasha` package, found without importing it (its import pulls
    in a morphology stack we do not use)."""
    spec = importlib.util.find_spec("natasha")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("router word vectors: the `natasha` package is not installed (pip install natasha)")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "emb" / VECTORS_FILE
    if not path.is_file():
        raise ConfigError(f"router word vectors: {path} is missing; reinstall the `natasha` package")
    return path


@functools.lru_cache(maxsize=2)
def load_vectors(path: str):
    from navec import Navec

    try:
        return Navec.load(path)
    except Exception as exc:  # a truncated or foreign tar: say which file, not a tarfile traceback
        raise ConfigError(f"router word vectors: cannot read {path}: {exc}") from None


class WordVectors(BaseEstimator, TransformerMixin):
    """Texts → the L2-normalised mean of their words' vectors, times `scale` (one dense block beside
    the sparse TF-IDF blocks). Words the vectors do not know are skipped; a text with none gets a
    zero row. Only the file's path is pickled, never the 26 MB of vectors."""

    def __init__(self, path: str | None = None, scale: float = 1.0) -> None:
        self.path = path
        self.scale = scale

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_seen", None)
        return state

    def _vector(self, word: str) -> np.ndarray | None:
        """A word's decoded vector, or None. Decoding a quantized vector costs microseconds, so each
        word is decoded once per process; a municipality's vocabulary is small."""
        seen = self.__dict__.setdefault("_seen", {})
        if word not in seen:
            nv = load_vectors(self.path or str(default_vectors_path()))
            seen[word] = nv[word] if word in nv else None
        return seen[word]

    def fit(self, texts, y=None):
        load_vectors(self.path or str(default_vectors_path()))  # fail when training, not when routing
        return self

    def transform(self, texts):
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for r, text in enumerate(texts):
            known = [v for v in map(self._vector, words(normalize(text))) if v is not None]
            if known:
                out[r] = np.mean(known, axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return sp.csr_matrix(out * self.scale)
