"""Disguise benchmark: how the moderation rules generalise to disguised spellings.

    .venv/bin/python bench/moderation_disguise.py [--data ../shared/eval/dev] [--seeds 0,1,2] [--misses]

Prints, per disguise family (moderation/disguise.py), the recall on the roots of the development
half and on the held-out roots (a split by word root, so the held-out figure is on roots the rules
were never tuned on disguised); then, when --data holds them, the recall on the real disguised
comments (`distortion=1`) and the false-positive rates on the Kursk appeals and the RUSSE
neutral paraphrases. Several seeds give several splits and disguises; the figures are pooled.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moderation.disguise import FAMILIES, generate, split_roots  # noqa: E402
from moderation.evaluate import (  # noqa: E402
    _appeals,
    _distorted,
    _russe,
    find,  # noqa: E402
)
from moderation.rules import check_text  # noqa: E402


def generated(seeds: list[int], show_misses: bool) -> dict[str, tuple[Counter, Counter]]:
    halves = {"dev roots": (Counter(), Counter()), "held-out roots": (Counter(), Counter())}
    for seed in seeds:
        dev, held = split_roots(seed)
        for name, roots in (("dev roots", dev), ("held-out roots", held)):
            hit, total = halves[name]
            for s in generate(roots, seed=seed):
                total[s.family] += 1
                if check_text(s.text).decision == "drop":
                    hit[s.family] += 1
                elif show_misses:
                    print(f"  miss ({name}, {s.family}): {s.text!r}")
    return halves


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, help="the eval folder (dev): real disguised comments, appeals, RUSSE")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--misses", action="store_true", help="print the generated texts that pass")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    halves = generated(seeds, args.misses)
    print(f"generated disguises, seeds {seeds}: recall by family")
    print(f"{'family':<12}" + "".join(f"{name:>18}" for name in halves))
    for family in (*FAMILIES, "all"):
        cells = []
        for hit, total in halves.values():
            h = sum(hit.values()) if family == "all" else hit[family]
            t = sum(total.values()) if family == "all" else total[family]
            cells.append(f"{h / t:.4f} ({t})" if t else "-")
        print(f"{family:<12}" + "".join(f"{c:>18}" for c in cells))
    if args.data is None:
        return
    rows = []
    if path := find(args.data, "russian_distorted_toxicity.tsv"):
        rows += [r for r in _distorted(path) if r["slice"].endswith(("distortion=1", "clean (0,0)"))]
    if path := find(args.data, "kursk_2022_categories.csv"):
        rows += _appeals(path)
    if path := find(args.data, "russe_detox_2022_train.tsv"):
        rows += [r for r in _russe(path) if r["slice"].endswith("all neutral paraphrases")]
    print("real data")
    for r in rows:
        metric = "recall" if r["recall"] is not None else "fpr"
        print(f"  {r['slice']:<60} n={r['n']:<6} {metric} {r[metric]:.4f}")


if __name__ == "__main__":
    main()
