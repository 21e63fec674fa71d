"""The model learned from a municipality's own archive: TF-IDF over words and character n-grams,
a linear classifier with probabilities. Stored as a joblib file plus a JSON card beside it.

A model file is code-bearing (pickle): otklik loads only a path the operator configured, never a
file that arrived from outside."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import joblib
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from otklik.exceptions import ConfigError
from router.text import normalize

csv.field_size_limit(sys.maxsize)


def build_pipeline() -> Pipeline:
    features = FeatureUnion([
        ("words", TfidfVectorizer(preprocessor=normalize, ngram_range=(1, 2), min_df=1, sublinear_tf=True,
                                  token_pattern=r"(?u)\b\w\w+\b", max_features=200_000)),
        ("chars", TfidfVectorizer(preprocessor=normalize, analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                                  sublinear_tf=True, max_features=300_000)),
    ])
    clf = LogisticRegression(C=20.0, max_iter=2000, class_weight="balanced")
    return Pipeline([("features", features), ("clf", clf)])


def read_history(path: Path) -> list[dict]:
    """CSV or JSONL with at least `text` and `topic_group` (and optionally `topic`, `executor`)."""
    if not path.exists():
        raise ConfigError(f"{path}: history file not found")
    rows: list[dict] = []
    if path.suffix == ".jsonl":
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ConfigError(f"{path}:{n}: not JSON: {exc.msg}") from None
    else:
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    for n, row in enumerate(rows, 1):
        if not row.get("text") or not row.get("topic_group"):
            raise ConfigError(f"{path}: row {n}: needs 'text' and 'topic_group'")
    return rows


class TopicModel:
    def __init__(self, pipeline: Pipeline, card: dict) -> None:
        self.pipeline = pipeline
        self.card = card

    @classmethod
    def train(cls, texts: list[str], labels: list[str]) -> TopicModel:
        pipe = build_pipeline()
        pipe.fit(texts, labels)
        return cls(pipe, {"classes": sorted(set(labels)), "rows": len(texts)})

    def predict(self, texts: list[str]) -> list[tuple[str, float]]:
        proba = self.pipeline.predict_proba(texts)
        classes = self.pipeline.classes_
        best = np.argmax(proba, axis=1)
        return [(str(classes[i]), float(proba[r, i])) for r, i in enumerate(best)]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.pipeline, path)
        path.with_suffix(".json").write_text(json.dumps(self.card, ensure_ascii=False, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> TopicModel:
        if not path.exists():
            raise ConfigError(f"{path}: model file not found (train one with `otklik router train`)")
        card_path = path.with_suffix(".json")
        card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.exists() else {}
        return cls(joblib.load(path), card)
