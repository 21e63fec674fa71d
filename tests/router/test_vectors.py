"""The word-vector block of the trained model, on the real vectors shipped in `natasha`."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from otklik.exceptions import ConfigError
from router.vectors import DIM, WordVectors, default_vectors_path


@pytest.fixture(scope="module")
def vectors() -> WordVectors:
    return WordVectors().fit([])


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_rows_are_unit_mean_vectors_and_unknown_text_is_zero(vectors):
    m = vectors.transform(["<p>Не горит фонарь&nbsp;во дворе</p>", "qwxz zzqj", ""]).toarray()
    assert m.shape == (3, DIM)
    assert np.linalg.norm(m[0]) == pytest.approx(1.0, abs=1e-5)
    assert not m[1].any() and not m[2].any()


def test_related_words_are_closer_than_unrelated_ones(vectors):
    pit, asphalt, lighting = vectors.transform(["яма", "асфальт", "освещение"]).toarray()
    assert _cos(pit, asphalt) > _cos(pit, lighting) + 0.2


def test_scale_multiplies_the_block():
    row = WordVectors(scale=1.5).transform(["яма на дороге"]).toarray()[0]
    assert np.linalg.norm(row) == pytest.approx(1.5, abs=1e-5)


def test_pickle_keeps_the_path_not_the_vectors(vectors):
    vectors.transform(["яма на дороге"])
    blob = pickle.dumps(vectors)
    assert len(blob) < 10_000
    again = pickle.loads(blob)
    assert np.allclose(again.transform(["яма"]).toarray(), vectors.transform(["яма"]).toarray())


def test_a_broken_vectors_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "vectors.tar"
    bad.write_bytes(b"not a tar archive")
    with pytest.raises(ConfigError, match="cannot read .*vectors.tar"):
        WordVectors(path=str(bad)).fit([])


def test_the_vectors_ship_inside_the_installed_package():
    assert default_vectors_path().stat().st_size > 20_000_000
