"""`otklik moderate` end to end: messages per second on one core, for social-network texts (about
180 characters) and for long appeals, startup subtracted.

    .venv/bin/python bench/moderate_cli.py [--n 40000] [--data ../shared/eval/dev] [--profile-out FILE]

The input is JSON lines from the sandbox's own traffic generator (no third-party data): social
texts are its messages, joined to about 180 characters; long appeals are several of its legitimate messages of one
author joined into one letter (or, with --data, the dev Kursk appeals' texts, read at run time).
The figure is computed from the child's CPU time (user + system), so other processes on a shared
machine do not lower it; wall-clock figures are printed beside. Startup (imports, the lexicon) is
measured with a run of 10 lines and subtracted.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox.traffic import TrafficGenerator  # noqa: E402

csv.field_size_limit(sys.maxsize)


def social(n: int, seed: int = 1, length: int = 150) -> list[str]:
    """Social-network texts of about 180 characters: the generator's messages (about 90 characters
    each, abusive ones included) joined until at least `length` characters."""
    gen = TrafficGenerator(seed=seed)
    out: list[str] = []
    text = ""
    while len(out) < n:
        e = gen.next_event()
        if e.text:
            text = f"{text} {e.text}" if text else e.text
            if len(text) >= length:
                out.append(text)
                text = ""
    return out


def long_appeals(n: int, data: Path | None, seed: int = 2) -> list[str]:
    if data is not None:
        hits = sorted(data.rglob("kursk_2022_categories.csv"))
        if hits:
            with hits[0].open(encoding="utf-8", newline="") as f:
                texts = [r["text"] for r in csv.DictReader(f) if (r.get("text") or "").strip()]
            return [texts[i % len(texts)] for i in range(n)]
    gen = TrafficGenerator(seed=seed)
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        parts = []
        while sum(map(len, parts)) < 900:
            e = gen.next_event()
            if e.text and e.label == "legit":
                parts.append(e.text)
        out.append(" ".join(parts[: rng.randint(len(parts) - 1, len(parts))] or parts))
    return out


def write_jsonl(texts: list[str], path: Path) -> None:
    with path.open("w", encoding="utf-8") as f:
        for i, t in enumerate(texts):
            f.write(json.dumps({"id": i, "author": i % 5000, "text": t, "source": "vk:club1"}, ensure_ascii=False))
            f.write("\n")


def run(path: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one `otklik moderate` run over the file."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with path.open("rb") as stdin:
        subprocess.run(
            [sys.executable, "-m", "otklik", "moderate"],
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def measure(name: str, texts: list[str], tmp: Path) -> None:
    full, small = tmp / f"{name}.jsonl", tmp / f"{name}_small.jsonl"
    write_jsonl(texts, full)
    write_jsonl(texts[:10], small)
    startup = min(run(small) for _ in range(2))
    best = min(run(full) for _ in range(2))
    cpu, wall = best[0] - startup[0], best[1] - startup[1]
    mean_len = sum(map(len, texts)) / len(texts)
    print(
        f"{name:<14} {len(texts):>7,} messages, mean {mean_len:,.0f} chars: "
        f"{len(texts) / cpu:>9,.0f} messages/s per CPU second "
        f"({len(texts) / wall:,.0f}/s wall clock; startup {startup[0]:.2f} s CPU subtracted)"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40_000, help="social-network messages (long appeals: a quarter)")
    ap.add_argument("--data", type=Path, help="the eval folder: long appeals from the dev Kursk texts")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        measure("social", social(args.n), tmp)
        measure("long appeals", long_appeals(max(1000, args.n // 4), args.data), tmp)


if __name__ == "__main__":
    main()
