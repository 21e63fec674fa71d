"""How fast the regulation engine is: deadlines computed per second for new messages, and
cases checked per second by the deadline watcher (due_events), over every profile and channel,
at random moments of 2025–2026 (weekends, nights and holidays included).

    .venv/bin/python bench/regulation_deadlines.py [--cases 5000]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta

from regulation.deadlines import compute_deadlines
from regulation.escalation import due_events
from regulation.lifecycle import new_case, transition
from regulation.profiles import list_profiles, load_profile


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=5000)
    args = parser.parse_args()
    rng = random.Random(7)
    profiles = [load_profile(name) for name in list_profiles()]
    pairs = [(p, ch) for p in profiles for ch in p.channels]
    start = datetime(2025, 1, 1, tzinfo=UTC)
    moments = [start + timedelta(minutes=rng.randrange(60 * 24 * 700)) for _ in range(args.cases)]
    jobs = [(rng.choice(pairs), m, rng.choice(("normal", "high"))) for m in moments]
    for (p, ch), m, imp in jobs[:200]:  # warm the calendars' per-day caches, as a running daemon has them
        compute_deadlines(p, ch, m, imp)

    t0 = time.perf_counter()
    for (p, ch), m, imp in jobs:
        compute_deadlines(p, ch, m, imp)
    per_deadlines = args.cases / (time.perf_counter() - t0)

    cases = []
    for (p, ch), m, imp in jobs:
        case = new_case(profile=p, channel=ch, identified_at=m, importance=imp)
        case, _ = transition(case, "route", actor_role="curator", at=m, profile=p, executors=["a", "b"])
        cases.append((p, case, m + timedelta(hours=rng.randrange(1, 200))))
    t0 = time.perf_counter()
    raised = sum(len(due_events(case, now, p, set())) for p, case, now in cases)
    per_watch = args.cases / (time.perf_counter() - t0)

    print(f"compute_deadlines: {per_deadlines:,.0f} messages/s over {len(pairs)} profile channels")
    print(f"due_events: {per_watch:,.0f} cases/s ({raised} events raised for {args.cases} cases)")


if __name__ == "__main__":
    main()
