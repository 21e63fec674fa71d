"""The routes recorded in tests/router/data/routes.jsonl.gz (see route_corpus.py) are still the
routes: every field of the `Routing` (group, topic, confidence to 6 places, importance and its
reasons, location mentions with offsets, executors, archive topic and executors), by the rules one
message at a time and by a trained model in batches. The model's confidence (rounded to 4 places
by the model) may move by one unit in the last place between trainings (floating-point sums in
another order), so it is compared to within 2e-4; everything else exactly."""

from __future__ import annotations

from collections import Counter

import pytest

from router.classifier import Router
from tests.router.route_corpus import model_router, model_routes, read, rules_routes

RECORDS = read()


def _of(kind: str) -> tuple[list[str], list[dict]]:
    recs = [r for r in RECORDS if r["kind"] == kind]
    return [r["text"] for r in recs], [r["route"] for r in recs]


def test_the_corpus_covers_importance_location_and_the_archive():
    kinds = Counter((r["kind"], r["route"]["importance"]) for r in RECORDS)
    assert min(kinds.values()) > 100 and len(kinds) == 4
    assert sum(bool(r["route"]["location"]) for r in RECORDS) > 1000
    assert sum(bool(r["route"]["archive_executors"]) for r in RECORDS if r["kind"] == "model") > 1000
    assert sum("platform_fast_track" in r["route"]["reasons"] for r in RECORDS) > 100


def _same(kind: str, expected: dict, got: dict) -> bool:
    if kind == "model" and abs(expected["confidence"] - got["confidence"]) <= 2e-4:
        got = {**got, "confidence": expected["confidence"]}
    return expected == got


@pytest.mark.parametrize("kind", ["rules", "model"])
def test_routes_unchanged(kind):
    texts, expected = _of(kind)
    got = rules_routes(Router.load(), texts) if kind == "rules" else model_routes(model_router(), texts)
    wrong = [(t[:200], e, g) for t, e, g in zip(texts, expected, got, strict=True) if not _same(kind, e, g)]
    assert not wrong, f"{len(wrong)} routes changed; first: {wrong[:3]}"
