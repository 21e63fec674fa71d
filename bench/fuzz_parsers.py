"""Mutation fuzzing campaign over every connector's parsers and poll path.

    .venv/bin/python bench/fuzz_parsers.py [--examples 2000] [--poll-examples 300] [--seed 0]
                                           [--platform vk] [--sites]

For each platform: `--examples` mutated real payloads (connectors/fuzzing.py: shared payload
samples, test samples, every recorded response) fed to each parsing entry point, and
`--poll-examples` runs of the poll path (fetch following the cursor, send, find_posted, check)
against a recorded cassette one of whose answers carries a mutated body. Prints per platform
"inputs tried: N, crashes found: M, distinct crash sites: S" (a crash is any exception other than
our ConnectorError, or an invalid result); `--sites` lists the sites.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))

from connectors import fuzzing  # noqa: E402


def campaign(platform: str, examples: int, poll_examples: int, seed: int) -> tuple[int, int, Counter]:
    rnd = random.Random(f"{seed}:{platform}")
    seeds = fuzzing.samples(platform)
    entries = fuzzing.entry_points(platform)
    sites: Counter = Counter()
    tried = crashes = 0
    for _ in range(examples):
        payload = fuzzing.materialize(fuzzing.mutate(rnd.choice(seeds), rnd))
        for fn in entries.values():
            tried += 1
            exc = fuzzing.try_parse(fn, payload)
            if exc is not None:
                crashes += 1
                sites[f"{platform}: {fuzzing.crash_site(exc)}"] += 1
    cassettes = fuzzing.cassettes(platform)
    replies = fuzzing.reply_templates(platform)
    names = sorted(cassettes)
    for _ in range(poll_examples):
        name = rnd.choice(names)
        cassette = cassettes[name]
        with_json = [i for i, it in enumerate(cassette["interactions"]) if "json" in it["response"]]
        if not with_json:
            continue
        index = rnd.choice(with_json)
        body = fuzzing.mutate(cassette["interactions"][index]["response"]["json"], rnd)
        mutated = fuzzing.with_mutated_response(cassette, index, body)
        tried += 1
        _, found = asyncio.run(fuzzing.run_poll(platform, mutated, replies.get(name)))
        for exc in found:
            crashes += 1
            sites[f"{platform}: {fuzzing.crash_site(exc)}"] += 1
    return tried, crashes, sites


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--examples", type=int, default=2000)
    ap.add_argument("--poll-examples", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--platform", action="append", choices=fuzzing.PLATFORMS)
    ap.add_argument("--sites", action="store_true", help="list each distinct crash site")
    args = ap.parse_args()
    import logging

    logging.disable(logging.CRITICAL)  # the connectors' warnings about broken answers are expected
    all_sites: Counter = Counter()
    for platform in args.platform or fuzzing.PLATFORMS:
        t0 = time.perf_counter()
        tried, crashes, sites = campaign(platform, args.examples, args.poll_examples, args.seed)
        all_sites += sites
        print(f"{platform}: inputs tried: {tried}, crashes found: {crashes}, "
              f"distinct crash sites: {len(sites)} ({time.perf_counter() - t0:.1f} s)", flush=True)
    print(f"total distinct crash sites: {len(all_sites)}")
    if args.sites:
        for site, n in sorted(all_sites.items()):
            print(f"  {n:6d}  {site}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
