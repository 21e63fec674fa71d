"""Moderation benchmark: text-rule throughput on one core, how fast the repeat index fills, and
the cost of repeat detection per message as the history grows from 10k to 1M messages.

    .venv/bin/python bench/moderation_throughput.py [--history 10000,100000,1000000]

Texts come from the sandbox's own templates (no third-party data). The large histories are built
synthetically from their features (the pipeline's refill computes features from stored texts;
its rate is the "index fill" figure), with a realistic shape: most authors write a few messages,
a few write thousands (those get LSH buckets). Runs in about a minute; prints the figures."""

from __future__ import annotations

import argparse
import gc
import random
import resource
import sys
import time
from array import array
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moderation.filter import ModerationFilter  # noqa: E402
from moderation.repeats import RepeatIndex, features  # noqa: E402
from moderation.rules import check_text  # noqa: E402
from sandbox.traffic import TrafficGenerator  # noqa: E402

T0 = datetime(2026, 1, 1)
HEAVY_AUTHORS = 20  # people (or bots) with thousands of messages each


def texts(n: int, seed: int = 1, labels: set[str] | None = None) -> list[str]:
    gen = TrafficGenerator(seed=seed)
    out: list[str] = []
    while len(out) < n:
        e = gen.next_event()
        if e.text and (labels is None or e.label in labels):
            out.append(e.text)
    return out


def rate(fn, items: list) -> float:
    start = time.perf_counter()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - start)


def rules_throughput() -> tuple[float, float]:
    mixed = texts(20000)  # the sandbox's mix: about a quarter obscene, insults, threats, spam
    clean = texts(20000, seed=4, labels={"legit", "repeat", "duplicate"})
    for t in mixed[:300]:
        check_text(t)  # warm the compiled lexicon and the per-word cache
    return rate(check_text, mixed), rate(check_text, clean)


def fill_rate(sample: list[str]) -> float:
    index = RepeatIndex()
    start = time.perf_counter()
    for i, t in enumerate(sample):
        index.add(f"f{i}", f"tg:{i % 3000}", t, T0 + timedelta(seconds=i))
    return len(sample) / (time.perf_counter() - start)


def build_history(n: int, pool: list[array], rng: random.Random) -> tuple[RepeatIndex, list[str]]:
    """`n` messages: 2% by a few heavy authors, the rest by many people with about 3 messages each."""
    index = RepeatIndex()
    light_authors = max(1, n // 3)
    heavy = [f"tg:heavy{k}" for k in range(HEAVY_AUTHORS)]
    for i in range(n):
        if i % 50 == 0:
            author = heavy[(i // 50) % HEAVY_AUTHORS]
            feats = array("I", sorted(rng.sample(range(1 << 32), 30)))  # a bot: unrelated texts
        else:
            author = f"tg:{rng.randrange(light_authors)}"
            feats = pool[rng.randrange(len(pool))]
        index.add_features(f"h{i}", author, feats, T0 + timedelta(seconds=i))
    return index, heavy


def repeat_cost(n: int, pool: list[array], probes: list[str]) -> tuple[float, float, float]:
    """Seconds to build `n` messages of history; then µs per message for the index lookup alone
    and for full moderation (rules + lookup + recording), best of three rounds (the machine is shared)."""
    rng = random.Random(n)
    start = time.perf_counter()
    index, heavy = build_history(n, pool, rng)
    built = time.perf_counter() - start
    gc.collect()
    # One probe in ten comes from a heavy author (LSH buckets), the rest from ordinary people.
    authors = [
        heavy[i % HEAVY_AUTHORS] if i % 10 == 0 else f"tg:{rng.randrange(max(1, n // 3))}"
        for i in range(len(probes))
    ]
    feats = [features(t) for t in probes]
    filt = ModerationFilter(index=index)
    lookups, fulls = [], []
    for round_ in range(3):
        start = time.perf_counter()
        for author, f in zip(authors, feats, strict=True):
            index.find(author, f)
        lookups.append((time.perf_counter() - start) / len(probes) * 1e6)
        start = time.perf_counter()
        for i, (author, text) in enumerate(zip(authors, probes, strict=True)):
            filt.moderate(f"p{round_}-{i}", author, text, T0 + timedelta(days=1, seconds=i))
        fulls.append((time.perf_counter() - start) / len(probes) * 1e6)
    return built, min(lookups), min(fulls)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--history", default="10000,100000,1000000")
    args = ap.parse_args()
    mixed, clean = rules_throughput()
    print(
        f"text rules: {mixed:,.0f} messages/s on one core (sandbox mix, ~25% abusive); "
        f"{clean:,.0f} messages/s on legitimate messages only"
    )
    sample = texts(20000, seed=2)
    print(f"repeat index fill from texts (features computed): {fill_rate(sample):,.0f} messages/s")
    pool = [features(t) for t in sample[:5000]]
    probes = texts(2000, seed=3)
    for n in (int(x) for x in args.history.split(",")):
        built, lookup, full = repeat_cost(n, pool, probes)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"history {n:>9,} messages (built in {built:4.1f} s): lookup {lookup:5.1f} µs, "
            f"full moderation {full:5.1f} µs per message; peak RSS {rss:,.0f} MB"
        )


if __name__ == "__main__":
    main()
