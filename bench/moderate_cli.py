"""`otklik moderate` end to end: messages per second on one core, for social-network texts (about
180 characters) and for long appeals, startup subtracted.

    .venv/bin/python bench/moderate_cli.py [--n 40000] [--data ../shared/eval/dev] [--profile-out DIR]

The input is JSON lines from the sandbox's own traffic generator (no third-party data): social
texts are its messages, joined to about 180 characters; long appeals are several of its legitimate messages of one
author joined into one letter (or, with --data, the dev Kursk appeals' texts, read at run time).
The figure is computed from the child's CPU time (user + system), so other processes on a shared
machine do not lower it; wall-clock figures are printed beside. Startup (imports, the lexicon) is
measured with a run of 10 lines and subtracted.

With --outside-rules, each corpus is also run in this process with the text rules' results
computed beforehand (`check_text_normalized` answered from a dict): the CPU time per message of
everything else (reading, parsing, repeat features, the index, writing), the best of three runs.

With --profile-out DIR, one more run of each corpus goes under cProfile (DIR/social.prof,
DIR/long_appeals.prof) and the share of time per moderation module is printed: where the time goes.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import pstats
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


def run(path: Path, profile: Path | None = None) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one `otklik moderate` run over the file."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    profiler = ["-m", "cProfile", "-o", str(profile)] if profile is not None else []
    with path.open("rb") as stdin:
        subprocess.run(
            [sys.executable, *profiler, "-m", "otklik", "moderate"],
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


# Where the time goes, by the file a function lives in (its own time, not its callees').
PARTS = {
    "moderation/normalizer.py": "normalizer",
    "moderation/rules.py": "rules",
    "moderation/lexicon.py": "rules",
    "moderation/triggers.py": "phrase filter",
    "moderation/repeats.py": "repeats",
    "moderation/filter.py": "filter",
    "otklik/cli/moderate.py": "CLI (JSON in and out)",
    "json/": "CLI (JSON in and out)",
    "pydantic": "pydantic (verdict objects, input)",
}


def profile_split(path: Path) -> None:
    """Own time per part, as a share of the moderation loop (`cmd_moderate` without building the
    filter, which is startup); what the parts do not cover is "other" (builtins, I/O)."""
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    loop = 0.0
    shares: dict[str, float] = {}
    for (filename, _line, func), (_cc, _nc, own, cum, _callers) in stats.items():
        if func == "cmd_moderate":
            loop += cum
        elif func == "__init__" and filename.endswith("moderation/filter.py"):
            loop -= cum
        part = next((name for key, name in PARTS.items() if key in filename), None)
        if part is None and ("re.Pattern" in func or "re.Match" in func):
            part = "regex engine (re)"  # C methods count apart from the Python that calls them
        if part is not None:
            shares[part] = shares.get(part, 0.0) + own
    shares["other"] = max(0.0, loop - sum(shares.values()))
    print("  " + ", ".join(f"{k} {v / loop:.0%}" for k, v in sorted(shares.items(), key=lambda kv: -kv[1])))


def measure(
    name: str, texts: list[str], tmp: Path, profile_dir: Path | None = None, outside: bool = False
) -> None:
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
    if outside:
        per = outside_rules(full)
        print(f"  outside the text rules: {per * 1e6:.1f} µs CPU per message ({1 / per:,.0f} messages/s)")
    if profile_dir is not None:
        profile_dir.mkdir(parents=True, exist_ok=True)
        out = profile_dir / f"{name.replace(' ', '_')}.prof"
        run(full, out)
        print(f"  profile: {out}")
        profile_split(out)


def outside_rules(path: Path, runs: int = 3) -> float:
    """CPU seconds per message of `cmd_moderate` over the file, the text rules answered from a
    dict filled by a first run (which also loads everything): what is not the rules' time."""
    import moderation.filter as filt
    from otklik.cli.moderate import cmd_moderate

    rules = filt.check_text_normalized
    memo: dict = {}

    def remembered(text: str, lexicon: object = None) -> tuple:
        if text not in memo:
            memo[text] = rules(text, lexicon)
        return memo[text]

    def once() -> float:
        saved = sys.stdin, sys.stdout
        with path.open("rb") as raw, open(os.devnull, "w", encoding="utf-8") as out:
            sys.stdin, sys.stdout = io.TextIOWrapper(raw, encoding="utf-8"), out
            try:
                start = time.process_time()
                cmd_moderate(argparse.Namespace(profile=None))
                return time.process_time() - start
            finally:
                sys.stdin, sys.stdout = saved

    filt.check_text_normalized = remembered
    try:
        once()
        best = min(once() for _ in range(runs))
    finally:
        filt.check_text_normalized = rules
    with path.open("rb") as f:
        return best / sum(1 for _ in f)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40_000, help="social-network messages (long appeals: a quarter)")
    ap.add_argument("--data", type=Path, help="the eval folder: long appeals from the dev Kursk texts")
    ap.add_argument("--profile-out", type=Path, help="a folder for one cProfile run of each corpus")
    ap.add_argument("--outside-rules", action="store_true", help="also time all but the text rules")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        measure("social", social(args.n), tmp, args.profile_out, args.outside_rules)
        measure("long appeals", long_appeals(max(1000, args.n // 4), args.data), tmp, args.profile_out, args.outside_rules)


if __name__ == "__main__":
    main()
