"""reports.queries: the period's case ids as a few ranges for the other tables' queries; the
garbage collector paused only while the facts are made."""

from __future__ import annotations

import gc
import random
from datetime import UTC, datetime

import pytest

from otklik.actor import Actor
from reports import queries
from reports.queries import id_ranges


def covered(ranges: list[tuple[int, int]]) -> set[int]:
    return {i for lo, hi in ranges for i in range(lo, hi + 1)}


def test_consecutive_ids_are_one_range_and_nothing_is_none():
    assert id_ranges([]) == []
    assert id_ranges([7]) == [(7, 7)]
    assert id_ranges([5, 3, 4, 4, 6]) == [(3, 6)]


def test_split_at_the_widest_gaps_only():
    ids = [1, 2, 3, 100, 101, 500, 502]
    assert id_ranges(ids, most=3) == [(1, 3), (100, 101), (500, 502)]
    assert id_ranges(ids, most=2) == [(1, 101), (500, 502)]
    assert id_ranges(ids, most=1) == [(1, 502)]
    assert id_ranges(ids, most=10) == [(1, 3), (100, 101), (500, 500), (502, 502)]


def test_every_id_is_covered_by_at_most_the_given_number_of_ranges():
    rng = random.Random(4)
    for _ in range(50):
        ids = rng.sample(range(1, 5000), rng.randint(1, 300))
        most = rng.randint(1, 40)
        ranges = id_ranges(ids, most)
        assert len(ranges) <= most and set(ids) <= covered(ranges)
        assert all(lo in ids and hi in ids for lo, hi in ranges)  # no range reaches past the ids
        assert ranges == sorted(ranges) and all(a[1] < b[0] for a, b in zip(ranges, ranges[1:], strict=False))


def test_the_garbage_collector_runs_again_after_a_read_even_a_failed_one(db):
    with db.session() as s:
        facts = queries.load(s, Actor(login="head", role="head", via="cli"), datetime(2026, 1, 1, tzinfo=UTC),
                             datetime(2026, 2, 1, tzinfo=UTC))
    assert facts.cases == [] and gc.isenabled()
    with pytest.raises(RuntimeError), queries._collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("a query failed")
    assert gc.isenabled()
