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
        return load_vectors(self.path or str(default_vectors_path()))

    def check(self) -> None:
        """Load the vectors now: a missing or broken file fails training, not routing."""
        self._navec()

    def row(self, word: str) -> int:
        """The word's row in the decoded table, -1 when unknown. Decoding a quantized vector costs
        microseconds, so the featurizer asks once per word and process and keeps the row."""
        nv = self._navec()
        if word not in nv:
            return -1
        table: np.ndarray = self.__dict__.get("_table", np.empty((0, DIM), dtype=np.float32))
        used: int = self.__dict__.get("_used", 0)
        if used == len(table):  # grow by doubling: appends stay cheap on average
            table = np.concatenate([table, np.empty((max(1024, used), DIM), dtype=np.float32)])
            self.__dict__["_table"] = table
        table[used] = nv[word]
        self.__dict__["_used"] = used + 1
        return used

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
