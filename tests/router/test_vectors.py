"""The word vectors behind the trained model, on the real vectors shipped in `natasha`."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from otklik.exceptions import ConfigError
from router.vectors import DIM, WordVectors, default_vectors_path, load_vectors


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_known_words_get_a_row_unknown_ones_none():
    vectors = WordVectors()
    rows = vectors.rows(["фонарь", "qwxz", "двор"])
    assert rows.tolist() == [0, -1, 1]
    assert vectors.rows(["qwxz"]).tolist() == [-1] and vectors.rows([]).tolist() == []
    assert vectors.table.shape == (2, DIM) and np.abs(vectors.table).sum(axis=1).all()


def test_related_words_are_closer_than_unrelated_ones():
    vectors = WordVectors()
    rows = vectors.rows(["яма", "асфальт", "освещение"])  # before .table: rows extend it
    pit, asphalt, lighting = vectors.table[rows]
    assert _cos(pit, asphalt) > _cos(pit, lighting) + 0.2


def test_the_table_grows_past_its_first_allocation_and_forget_empties_it():
    vectors = WordVectors()
    navec = load_vectors(str(default_vectors_path()))
    words = navec.vocab.words[1000:4000]
    first = vectors.rows(words[:700])  # the first allocation holds 1,024 rows
    rest = vectors.rows(["qwxz", *words[700:]])  # this batch outgrows it
    assert first.tolist() == list(range(700)) and rest.tolist() == [-1, *range(700, len(words))]
    assert vectors.size == len(words) > 1024
    for i in (0, 699, 700, len(words) - 1):  # decoded in batches as navec decodes one word
        assert np.array_equal(vectors.table[i], navec[words[i]])
    vectors.forget()
    assert vectors.size == 0 and vectors.table.shape == (0, DIM)


def test_pickle_keeps_the_path_not_the_vectors():
    vectors = WordVectors()
    rows = vectors.rows(["яма", "дорога"])
    first = vectors.table[rows]
    blob = pickle.dumps(vectors)
    assert len(blob) < 10_000
    again = pickle.loads(blob)
    assert again.size == 0
    rows = again.rows(["яма", "дорога"])
    assert np.allclose(again.table[rows], first)


def test_a_broken_vectors_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "vectors.tar"
    bad.write_bytes(b"not a tar archive")
    with pytest.raises(ConfigError, match="cannot read .*vectors.tar"):
        WordVectors(path=str(bad)).check()


def test_the_vectors_ship_inside_the_installed_package():
    assert default_vectors_path().stat().st_size > 20_000_000
