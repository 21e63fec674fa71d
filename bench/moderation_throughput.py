"""Moderation: text-rule throughput on one core, and repeat detection cost per message as the
history grows from 10k to 1M messages.

    .venv/bin/python bench/moderation_throughput.py [--history 10000,100000,1000000]

Texts are generated from the sandbox's own templates (no third-party data)."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moderation.filter import ModerationFilter  # noqa: E402
from moderation.repeats import RepeatIndex  # noqa: E402
from moderation.rules import check_text  # noqa: E402
from sandbox.traffic import TrafficGenerator  # noqa: E402


def texts(n: int, seed: int = 1) -> list[str]:
    gen = TrafficGenerator(seed=seed)
    out = []
    while len(out) < n:
        e = gen.next_event()
        if e.text:
            out.append(e.text)
    return out


def rules_throughput(sample: list[str]) -> float:
    for t in sample[:200]:
        check_text(t)  # warm the compiled lexicon
    start = time.perf_counter()
    for t in sample:
        check_text(t)
    return len(sample) / (time.perf_counter() - start)


def repeat_cost(history: int, probes: int = 2000) -> float:
    """Microseconds per moderated message with `history` messages already indexed."""
    index = RepeatIndex()
    base = texts(5000, seed=2)
    t0 = datetime(2026, 1, 1)
    for i in range(history):
        # Authors as in a real municipality: many people, a few messages each.
        index.add(f"h{i}", f"tg:{i % (history // 3 + 1)}", base[i % len(base)] + f" дом {i % 97}",
                  t0 + timedelta(seconds=i))
    filt = ModerationFilter(index=index)
    sample = texts(probes, seed=3)
    start = time.perf_counter()
    for i, t in enumerate(sample):
        filt.moderate(f"p{i}", f"tg:{i % 5000}", t, t0 + timedelta(days=1, seconds=i))
    return (time.perf_counter() - start) / probes * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--history", default="10000,100000,1000000")
    args = ap.parse_args()
    rate = rules_throughput(texts(20000))
    print(f"text rules: {rate:,.0f} messages/s on one core")
    for n in (int(x) for x in args.history.split(",")):
        print(f"repeat detection with {n:>9,} messages of history: {repeat_cost(n):7.1f} µs per message "
              f"(full moderation, rules included)")


if __name__ == "__main__":
    main()
