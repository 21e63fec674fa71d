"""`otklik eval moderation --data DIR`: precision, recall and false-positive rate per dataset and
slice, on the third-party labelled sets (shared/eval layout). Reads only what DIR holds."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from moderation.rules import check_text

csv.field_size_limit(sys.maxsize)


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    examples: list[str] = field(default_factory=list)

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
        return {"slice": name, "n": pos + neg,
                "precision": round(self.tp / (self.tp + self.fp), 4) if self.tp + self.fp else None,
                "recall": round(self.tp / pos, 4) if pos else None,
                "fpr": round(self.fp / neg, 4) if neg else None}


def _tsv(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        yield from csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)


def _csv(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        yield from csv.DictReader(f)


def _dropped(text: str) -> bool:
    return check_text(text).decision == "drop"


def find(data: Path, name: str) -> Path | None:
    hits = sorted(data.rglob(name))
    return hits[0] if hits else None


def evaluate(data: Path) -> list[dict]:
    rows: list[dict] = []
    if path := find(data, "russian_distorted_toxicity.tsv"):
        slices = {k: Tally() for k in ("distortion=1", "toxicity=1", "clean (0,0)", "all")}
        for r in _tsv(path):
            text = (r.get("comments") or "").strip()
            if not text:
                continue
            distorted, toxic = r.get("distortion") == "1", r.get("toxicity") == "1"
            dropped = _dropped(text)
            should = distorted or toxic
            slices["all"].add(should, dropped)
            if distorted:
                slices["distortion=1"].add(True, dropped)
            if toxic:
                slices["toxicity=1"].add(True, dropped)
            if not should:
                slices["clean (0,0)"].add(False, dropped)
        rows += [t.row(f"distorted_toxicity {k}") for k, t in slices.items()]
    for name in ("russe_detox_2022_train.tsv", "russe_detox_2022_dev.tsv", "russe_detox_2022_test.tsv"):
        if path := find(data, name):
            toxic, neutral = Tally(), Tally()
            for r in _tsv(path):
                if r.get("toxic_comment"):
                    toxic.add(True, _dropped(r["toxic_comment"]))
                if r.get("neutral_comment1"):
                    neutral.add(False, _dropped(r["neutral_comment1"]))
            rows.append(toxic.row(f"{name} toxic_comment"))
            if neutral.tp + neutral.fp + neutral.tn + neutral.fn:
                rows.append(neutral.row(f"{name} neutral_comment1"))
    for name in ("kursk_2022_categories.csv", "kursk_2022_test_nocategory.csv", "spb_gorod_appeals_sample50.csv"):
        if path := find(data, name):
            t = Tally()
            for r in _csv(path):
                if r.get("text"):
                    t.add(False, _dropped(r["text"]))
            rows.append(t.row(f"{name} appeals (all must be kept)"))
    return rows


def print_table(rows: list[dict], out=sys.stdout) -> None:
    print(f"{'slice':<60} {'n':>6} {'precision':>9} {'recall':>7} {'fpr':>7}", file=out)
    for r in rows:
        fmt = lambda v: "-" if v is None else f"{v:.4f}"  # noqa: E731
        print(f"{r['slice']:<60} {r['n']:>6} {fmt(r['precision']):>9} {fmt(r['recall']):>7} {fmt(r['fpr']):>7}",
              file=out)
