"""Russian word vectors for the trained model (router.features averages a message's words).

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

from otklik.exceptions import ConfigError

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


class WordVectors:
    """Words → their pretrained vectors, decoded once per process. Only the file's path is pickled,
    never the 26 MB of vectors."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path

    def __getstate__(self) -> dict:
        return {"path": self.path}

    def _navec(self):
        # Kept on the instance: finding the default file asks importlib, too slow to do per batch.
        nv = self.__dict__.get("_nv")
        if nv is None:
            nv = self.__dict__["_nv"] = load_vectors(self.path or str(default_vectors_path()))
        return nv

    def check(self) -> None:
        """Load the vectors now: a missing or broken file fails training, not routing."""
        self._navec()

    def rows(self, words: list[str]) -> np.ndarray:
        """Each word's row in the decoded table, -1 when the vectors do not know it. The known
        words are decoded together (one gather from the quantization codebook), so the featurizer
        asks once per batch of new words and keeps the rows."""
        nv = self._navec()
        ids = np.fromiter((nv.vocab.get(w, -1) for w in words), dtype=np.int64, count=len(words))
        known = ids >= 0
        out = np.full(len(words), -1, dtype=np.int64)
        n = int(known.sum())
        if not n:
            return out
        pq = nv.pq
        decoded = pq.codes[pq.qdims, pq.indexes[ids[known]]].reshape(n, pq.dim)
        table: np.ndarray = self.__dict__.get("_table", np.empty((0, DIM), dtype=np.float32))
        used = self.size
        if used + n > len(table):  # grow by doubling: appends stay cheap on average
            grown = np.empty((max(1024, 2 * len(table), used + n), DIM), dtype=np.float32)
            grown[:used] = table[:used]
            self.__dict__["_table"] = table = grown
        table[used : used + n] = decoded
        self.__dict__["_used"] = used + n
        out[known] = np.arange(used, used + n)
        return out

    def forget(self) -> None:
        """Drop the decoded rows (the caller forgot which word had which)."""
        self.__dict__.pop("_table", None)
        self.__dict__.pop("_used", None)

    @property
    def size(self) -> int:
        return self.__dict__.get("_used", 0)

    @property
    def table(self) -> np.ndarray:
        """The decoded vectors, one row per `row` that returned a row."""
        return self.__dict__.get("_table", np.empty((0, DIM), dtype=np.float32))[: self.size]
