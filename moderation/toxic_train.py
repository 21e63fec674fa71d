"""Measure what a small learned model of toxic comments (moderation/toxic_model.py) adds to the
rules: trained on the labelled dev sets with 5-fold cross-validation.

    .venv/bin/python -m moderation.toxic_train --data ../shared/eval/dev [--out FILE.npz]

Measured (dev, 5-fold CV): toxic VK comments 0.682 -> 0.686, RUSSE toxic 0.873 -> 0.880, with no
more clean VK comments or appeals dropped. Too little for its cost per message, so the package
does not ship one and the rules work alone; `--out` writes the model trained on all rows.

Rows: VK comments (toxic or disguised = 1, clean = 0), RUSSE detox (the toxic comment 1, its
neutral paraphrases 0; a row and its paraphrases stay in one fold), citizens' appeals (0: they must
never be dropped). The threshold is chosen on the out-of-fold scores, together with the rules: the
highest recall on toxic VK comments while clean VK comments dropped stay ≤ 3%, appeals ≤ 0.3% and
neutral paraphrases ≤ 3%. Development data only; never point it at a holdout folder.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import sparse

from moderation.evaluate import find
from moderation.normalizer import normalize_text
from moderation.rules import check_text
from moderation.toxic_model import BITS, TOKEN, ToxicModel, word_features

csv.field_size_limit(sys.maxsize)
LIMITS = {"vk_clean": 0.03, "appeal": 0.003, "russe_neutral": 0.03}
VK_WEIGHT = 3.0  # VK comments are the target; RUSSE is plentiful but another register
C = 1.0


def load_rows(data: Path) -> list[tuple[str, int, str, str]]:
    """(text, label, kind, group) rows."""
    rows: list[tuple[str, int, str, str]] = []
    if path := find(data, "russian_distorted_toxicity.tsv"):
        with path.open(encoding="utf-8", newline="") as f:
            for i, r in enumerate(csv.DictReader(f, delimiter="\t")):
                text = (r.get("comments") or "").strip()
                if text:
                    bad = r.get("toxicity") == "1" or r.get("distortion") == "1"
                    rows.append((text, int(bad), "vk_toxic" if bad else "vk_clean", f"vk{i}"))
    if path := find(data, "russe_detox_2022_train.tsv"):
        with path.open(encoding="utf-8", newline="") as f:
            for i, r in enumerate(csv.DictReader(f, delimiter="\t")):
                if t := (r.get("toxic_comment") or "").strip():
                    rows.append((t, 1, "russe_toxic", f"ru{i}"))
                for col in ("neutral_comment1", "neutral_comment2", "neutral_comment3"):
                    if t := (r.get(col) or "").strip():
                        rows.append((t, 0, "russe_neutral", f"ru{i}"))
    if path := find(data, "kursk_2022_categories.csv"):
        with path.open(encoding="utf-8", newline="") as f:
            for i, r in enumerate(csv.DictReader(f)):
                if t := (r.get("text") or "").strip():
                    rows.append((t, 0, "appeal", f"ap{i}"))
    return rows


def matrix(texts: list[str]) -> sparse.csr_matrix:
    cache: dict[str, list[int]] = {}
    indptr, indices, values = [0], [], []
    for text in texts:
        counts: dict[int, float] = defaultdict(float)
        tokens = TOKEN.findall(normalize_text(text))
        for w in tokens:
            feats = cache.get(w)
            if feats is None:
                feats = cache[w] = word_features(w)
            for h in feats:
                counts[h] += 1.0
        scale = 1 / math.sqrt(len(tokens)) if tokens else 0.0
        indices += counts.keys()
        values += [v * scale for v in counts.values()]
        indptr.append(len(indices))
    return sparse.csr_matrix((values, indices, indptr), shape=(len(texts), 1 << BITS))


def _fit(x, y, w):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=2000).fit(x, y, sample_weight=w)


def rates(dropped: np.ndarray, kinds: np.ndarray) -> dict[str, float]:
    return {k: round(float(dropped[kinds == k].mean()), 4) for k in sorted(set(kinds.tolist()))}


def choose_threshold(scores: np.ndarray, rules: np.ndarray, kinds: np.ndarray) -> float:
    best_t, best_recall = math.inf, -1.0
    for t in np.quantile(scores, np.linspace(0.5, 0.999, 400)):
        dropped = rules | (scores > t)
        r = rates(dropped, kinds)
        if all(r.get(k, 0.0) <= limit for k, limit in LIMITS.items()) and r.get("vk_toxic", 0) > best_recall:
            best_t, best_recall = float(t), r.get("vk_toxic", 0)
    return best_t


def main() -> None:
    from sklearn.model_selection import StratifiedGroupKFold

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, help="write the model trained on every row here")
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args()
    rows = load_rows(args.data)
    texts = [r[0] for r in rows]
    y = np.array([r[1] for r in rows])
    kinds = np.array([r[2] for r in rows])
    groups = np.array([r[3] for r in rows])
    w = np.where(np.char.startswith(kinds.astype(str), "vk"), VK_WEIGHT, 1.0)
    x = matrix(texts)
    rules = np.array([check_text(t).decision == "drop" for t in texts])
    oof = np.zeros(len(rows))
    strata = np.array([f"{k}" for k in kinds])
    for tr, te in StratifiedGroupKFold(args.folds, shuffle=True, random_state=0).split(x, strata, groups):
        model = _fit(x[tr], y[tr], w[tr])
        oof[te] = model.decision_function(x[te])
    t = choose_threshold(oof, rules, kinds)
    print(f"rows {len(rows)}; threshold from {args.folds}-fold out-of-fold scores: {t:.4f}")
    print("dropped share by kind (toxic: recall; others: false positives)")
    print(f"  rules alone:        {rates(rules, kinds)}")
    print(f"  model alone (CV):   {rates(oof > t, kinds)}")
    print(f"  rules + model (CV): {rates(rules | (oof > t), kinds)}")
    if args.out is not None:
        final = _fit(x, y, w)
        ToxicModel(final.coef_[0].astype(np.float32), float(final.intercept_[0]), t).save(args.out)
        print(f"saved {args.out}")


if __name__ == "__main__":
    main()
