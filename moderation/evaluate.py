"""`otklik eval moderation --data DIR`: precision, recall and false-positive rate per dataset and
slice, on the third-party labelled sets (shared/eval layout, dev or holdout). Reads only what DIR
holds, finding each known file by name anywhere under it.

How labels map to decisions (see the sets' PROVENANCE.md): distorted toxicity: `distortion=1` or
`toxicity=1` must be dropped, (0,0) kept; RUSSE detox: `toxic_comment` dropped, its human
`neutral_comment*` paraphrases kept; citizens' appeals: all kept. St Petersburg follow-ups (second
messages after an official answer) are unlabelled: we report how many are linked as repeats.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from moderation.filter import ModerationFilter
from moderation.rules import check_text

csv.field_size_limit(sys.maxsize)

RUSSE = ("russe_detox_2022_train.tsv", "russe_detox_2022_dev.tsv", "russe_detox_2022_test.tsv")
APPEALS = (
    "kursk_2022_categories.csv",
    "kursk_2022_train.csv",
    "kursk_2022_test_nocategory.csv",
    "spb_gorod_appeals_sample50.csv",
)
# The targets, by slice name ending: (metric, bound, "min" | "max").
TARGETS = {
    "distortion=1": ("recall", 0.95, "min"),
    "toxic_comment": ("recall", 0.85, "min"),
    "neutral paraphrases": ("fpr", 0.03, "max"),
    "(all must be kept)": ("fpr", 0.003, "max"),
}


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, should_drop: bool, dropped: bool) -> None:
        if should_drop and dropped:
            self.tp += 1
        elif should_drop:
            self.fn += 1
        elif dropped:
            self.fp += 1
        else:
            self.tn += 1

    def row(self, name: str) -> dict:
        pos, neg = self.tp + self.fn, self.fp + self.tn
        row = {
            "slice": name,
            "n": pos + neg,
            # Precision means something only where both kinds of rows are present.
            "precision": round(self.tp / (self.tp + self.fp), 4)
            if pos and neg and self.tp + self.fp
            else None,
            "recall": round(self.tp / pos, 4) if pos else None,
            "fpr": round(self.fp / neg, 4) if neg else None,
        }
        for ending, (metric, bound, kind) in TARGETS.items():
            if name.endswith(ending) and row[metric] is not None:
                met = row[metric] >= bound if kind == "min" else row[metric] <= bound
                row["target"] = (
                    f"{metric} {'≥' if kind == 'min' else '≤'} {bound}: {'met' if met else 'MISSED'}"
                )
        return row


def _rows(path: Path, delimiter: str) -> Iterator[dict]:
    # The TSV files quote fields that hold tabs, newlines or quotes ("" inside), as CSV does.
    with path.open(encoding="utf-8", errors="replace", newline="") as f:
        yield from csv.DictReader(f, delimiter=delimiter)


def _dropped(text: str) -> bool:
    return check_text(text).decision == "drop"


def find(data: Path, name: str) -> Path | None:
    hits = sorted(data.rglob(name))
    return hits[0] if hits else None


def _distorted(path: Path) -> list[dict]:
    slices = {k: Tally() for k in ("distortion=1", "toxicity=1", "clean (0,0)", "all")}
    for r in _rows(path, "\t"):
        text = (r.get("comments") or "").strip()
        if not text:
            continue
        distorted, toxic = r.get("distortion") == "1", r.get("toxicity") == "1"
        dropped = _dropped(text)
        slices["all"].add(distorted or toxic, dropped)
        if distorted:
            slices["distortion=1"].add(True, dropped)
        if toxic:
            slices["toxicity=1"].add(True, dropped)
        if not (distorted or toxic):
            slices["clean (0,0)"].add(False, dropped)
    return [t.row(f"{path.name} {k}") for k, t in slices.items()]


def _russe(path: Path) -> list[dict]:
    toxic, first, paraphrases = Tally(), Tally(), Tally()
    for r in _rows(path, "\t"):
        if r.get("toxic_comment"):
            toxic.add(True, _dropped(r["toxic_comment"]))
        for column in ("neutral_comment1", "neutral_comment2", "neutral_comment3"):
            if text := (r.get(column) or "").strip():
                dropped = _dropped(text)
                paraphrases.add(False, dropped)
                if column == "neutral_comment1":
                    first.add(False, dropped)
    rows = [toxic.row(f"{path.name} toxic_comment")]
    if paraphrases.tn + paraphrases.fp:
        rows += [
            first.row(f"{path.name} neutral_comment1"),
            paraphrases.row(f"{path.name} all neutral paraphrases"),
        ]
    return rows


def _appeals(path: Path) -> list[dict]:
    t = Tally()
    for r in _rows(path, ","):
        if text := (r.get("text") or "").strip():
            t.add(False, _dropped(text))
    return [t.row(f"{path.name} appeals (all must be kept)")]


def _followups(path: Path) -> list[dict]:
    """Each pair through a fresh filter: the first message, answered, then the follow-up."""
    linked = dropped = n = 0
    t0 = datetime(2021, 1, 1)
    for r in _rows(path, ","):
        first, followup = (r.get("first_text") or "").strip(), (r.get("followup_text") or "").strip()
        if not first or not followup:
            continue
        filt = ModerationFilter()
        filt.moderate("first", "author", first, t0)
        filt.mark_answered("first")
        verdict = filt.moderate("followup", "author", followup, t0 + timedelta(days=10))
        n += 1
        linked += verdict.repeat_of == "first"
        dropped += verdict.decision == "drop"
    return [
        {
            "slice": f"{path.name} follow-ups after an answer (unlabelled)",
            "n": n,
            "linked as repeat": round(linked / n, 4) if n else None,
            "dropped": round(dropped / n, 4) if n else None,
        }
    ]


def evaluate(data: Path) -> list[dict]:
    readers: list[tuple[tuple[str, ...], Callable[[Path], list[dict]]]] = [
        (("russian_distorted_toxicity.tsv",), _distorted),
        (RUSSE, _russe),
        (APPEALS, _appeals),
        (("spb_gorod_followups.csv",), _followups),
    ]
    rows: list[dict] = []
    for names, reader in readers:
        for name in names:
            if path := find(data, name):
                rows += reader(path)
    return rows


def print_table(rows: list[dict], out: TextIO = sys.stdout) -> None:
    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:.4f}"

    print(f"{'slice':<62} {'n':>6} {'precision':>9} {'recall':>7} {'fpr':>7}  target", file=out)
    for r in rows:
        if "precision" in r:
            print(
                f"{r['slice']:<62} {r['n']:>6} {fmt(r['precision']):>9} {fmt(r['recall']):>7} {fmt(r['fpr']):>7}"
                f"  {r.get('target', '')}",
                file=out,
            )
        else:
            extra = ", ".join(f"{k} {fmt(v)}" for k, v in r.items() if k not in ("slice", "n"))
            print(f"{r['slice']:<62} {r['n']:>6}  {extra}", file=out)
