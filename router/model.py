"""The model learned from a municipality's own archive of routed messages.

Features: TF-IDF over lemma unigrams and bigrams (weighted 1.5: lemmas carry the topic), TF-IDF
over character 3–5-grams (robust to typos and to words pymorphy3 does not know), the rubricator's
scores per group and topic (the day-one rules, so the hand-written domain knowledge helps where
the archive is thin), and the mean of pretrained Russian word vectors (router.vectors: synonyms
the archive never saw).
Classifier: a linear SVM with balanced class weights; its margins are turned into a confidence
by a softmax whose temperature is fitted on held-out folds of the archive itself.

Archives whose categories are coarser than the 26 groups (one category «ЖКХ и благоустройство»
covering several groups) may list every group a row can belong to; the rules pick, for each
text, the listed group it fits best (see `resolve_labels`).

The artifact is a joblib file (a pickle: it can run code when loaded) plus a JSON card beside it
holding the file's sha256. otklik loads a model only from a path the operator configured and
only when the card's hash matches — never a file that arrived from outside. Train your own.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import joblib
import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from otklik.exceptions import ConfigError
from router.rubricator import GROUPS, Rubricator, RubricatorFile, load_rubricator
from router.text import lemma, normalize, words
from router.vectors import WordVectors

FORMAT = "otklik-router-model/2"
# Block weights and C chosen by 5-fold CV on the Kursk dev appeals over eight fold seeds; moves of
# ±0.5 points between neighbouring settings are within the noise of that data.
RULES_SCALE = 0.3  # the rules' block next to the TF-IDF blocks of unit norm
LEMMA_WEIGHT = 1.5
VECTORS_SCALE = 1.5
SVM_C = 0.4
CALIBRATION_FOLDS = 3


def lemma_text(texts) -> list[str]:
    return [" ".join(lemma(w) for w in words(normalize(t))) for t in texts]


class LemmaText(BaseEstimator, TransformerMixin):
    """Raw texts → space-separated lemmas (HTML stripped, lower case)."""

    def fit(self, texts, y=None):
        return self

    def transform(self, texts):
        return lemma_text(texts)


class RuleFeatures(BaseEstimator, TransformerMixin):
    """The rubricator's points per group and per topic, log-scaled. Carries the rubricator's data
    so a model keeps the rules it was trained with even if the data file is edited later."""

    def __init__(self, rubricator_data: RubricatorFile | None = None, scale: float = RULES_SCALE) -> None:
        self.rubricator_data = rubricator_data
        self.scale = scale

    def _rub(self) -> Rubricator:
        if getattr(self, "_compiled", None) is None:
            self._compiled = Rubricator(self.rubricator_data) if self.rubricator_data else load_rubricator()
        return self._compiled

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_compiled", None)  # rebuilt on first use: big lookup tables need not be pickled
        return state

    def fit(self, texts, y=None):
        return self

    def transform(self, texts):
        rub = self._rub()
        group_col = {g: i for i, g in enumerate(GROUPS)}
        rows, cols, vals = [], [], []
        for r, text in enumerate(texts):
            per_group: Counter[str] = Counter()
            for t, points in rub.scores(text).items():
                rows.append(r)
                cols.append(len(GROUPS) + t)
                vals.append(points)
                per_group[rub.topics[t].group] += points
            for g, points in per_group.items():
                rows.append(r)
                cols.append(group_col[g])
                vals.append(points)
        m = sp.csr_matrix((vals, (rows, cols)), shape=(len(texts), len(GROUPS) + len(rub.topics)))
        m.data = np.log1p(m.data) * self.scale
        return m


def build_pipeline(rubricator_data: RubricatorFile | None = None) -> Pipeline:
    features = FeatureUnion(
        [
            (
                "lemmas",
                Pipeline(
                    [
                        ("lemmatize", LemmaText()),
                        ("tfidf", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                    ]
                ),
            ),
            (
                "chars",
                TfidfVectorizer(
                    preprocessor=normalize,
                    analyzer="char_wb",
                    ngram_range=(3, 5),  # 2-grams added nothing but time
                    min_df=2,
                    sublinear_tf=True,
                    max_features=50_000,
                ),
            ),
            ("rules", RuleFeatures(rubricator_data)),
            ("vectors", WordVectors(scale=VECTORS_SCALE)),
        ],
        transformer_weights={"lemmas": LEMMA_WEIGHT},
    )
    return Pipeline(
        [("features", features), ("svm", LinearSVC(C=SVM_C, class_weight="balanced", max_iter=20_000))]
    )


def resolve_labels(texts: list[str], label_sets: list[tuple[str, ...]], rubricator: Rubricator) -> list[str]:
    """One group per row. A row listing several acceptable groups (a coarse archive category)
    gets the one the rules score highest for its text, the first listed when the rules are silent."""
    out = []
    for text, allowed in zip(texts, label_sets, strict=True):
        if len(allowed) == 1:
            out.append(allowed[0])
            continue
        per_group: Counter[str] = Counter()
        for t, points in rubricator.scores(text).items():
            per_group[rubricator.topics[t].group] += points
        best = max(allowed, key=lambda g: (per_group[g], -allowed.index(g)))
        out.append(best if per_group[best] > 0 else allowed[0])
    return out


def stratify(labels: list[str], folds: int) -> list[str]:
    """Labels to stratify `folds` splits by: classes too small to appear in every fold are pooled
    as one, and a pool still too small rides with the largest class."""
    counts = Counter(labels)
    strat = [lbl if counts[lbl] >= folds else "_rare" for lbl in labels]
    if 0 < strat.count("_rare") < folds:
        strat = [counts.most_common(1)[0][0] if s == "_rare" else s for s in strat]
    return strat


def _softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _fit_temperature(decisions: np.ndarray, truth: np.ndarray) -> float:
    """The softmax temperature with the lowest log-loss on held-out decisions (a grid: one
    parameter, no optimiser to go wrong)."""
    best_t, best_loss = 1.0, float("inf")
    for t in np.geomspace(0.05, 5.0, 60):
        p = _softmax(decisions, t)[np.arange(len(truth)), truth]
        loss = -np.mean(np.log(np.clip(p, 1e-12, 1.0)))
        if loss < best_loss:
            best_t, best_loss = float(t), loss
    return best_t


def _decisions(pipe: Pipeline, texts: list[str]) -> np.ndarray:
    d = pipe.decision_function(texts)
    if d.ndim == 1:  # two classes: sklearn gives one column
        d = np.column_stack([-d, d])
    return d


class TopicModel:
    def __init__(self, pipeline: Pipeline, card: dict) -> None:
        self.pipeline = pipeline
        self.card = card
        self.classes: list[str] = [str(c) for c in pipeline.classes_]
        self.temperature = float(card.get("temperature", 1.0))

    @classmethod
    def train(
        cls,
        texts: list[str],
        labels: list[str | tuple[str, ...]],
        *,
        rubricator_data: RubricatorFile | None = None,
        calibrate: bool = True,
    ) -> TopicModel:
        rub = Rubricator(rubricator_data) if rubricator_data else load_rubricator()
        sets = [(lbl,) if isinstance(lbl, str) else tuple(lbl) for lbl in labels]
        y = resolve_labels(texts, sets, rub)
        counts = Counter(y)
        if len(counts) < 2:
            raise ConfigError("the history needs messages of at least two topic groups to learn from")
        data = rub.data
        temperature, cv_accuracy = 1.0, None
        if calibrate and len(texts) >= 10 * CALIBRATION_FOLDS:
            temperature, cv_accuracy = cls._calibrate(texts, y, data)
        pipe = build_pipeline(data).fit(texts, y)
        card = {
            "format": FORMAT,
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "rows": len(texts),
            "classes": dict(sorted(counts.items())),
            "temperature": temperature,
            "cv_accuracy": cv_accuracy,
        }
        return cls(pipe, card)

    @staticmethod
    def _calibrate(texts: list[str], y: list[str], data: RubricatorFile) -> tuple[float, float]:
        strat = stratify(y, CALIBRATION_FOLDS)
        classes = sorted(set(y))
        decisions = np.full((len(texts), len(classes)), -10.0)
        for tr, te in StratifiedKFold(CALIBRATION_FOLDS, shuffle=True, random_state=0).split(texts, strat):
            if len({y[i] for i in tr}) < 2:
                continue
            pipe = build_pipeline(data).fit([texts[i] for i in tr], [y[i] for i in tr])
            cols = [classes.index(str(c)) for c in pipe.classes_]
            decisions[np.ix_(te, cols)] = _decisions(pipe, [texts[i] for i in te])
        truth = np.array([classes.index(lbl) for lbl in y])
        accuracy = float(np.mean(decisions.argmax(axis=1) == truth))
        return _fit_temperature(decisions, truth), round(accuracy, 4)

    def predict(self, texts: list[str]) -> list[tuple[str, float]]:
        """(group, confidence) per text; the confidence is a calibrated probability estimate."""
        proba = _softmax(_decisions(self.pipeline, texts), self.temperature)
        best = proba.argmax(axis=1)
        return [(self.classes[i], round(float(proba[r, i]), 4)) for r, i in enumerate(best)]

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.pipeline, path, compress=3)
        card = {**self.card, "sha256": _sha256(path)}
        card_path(path).write_text(json.dumps(card, ensure_ascii=False, indent=2), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> TopicModel:
        """Load an artifact written by `save`. Refuses a file without its card or whose hash differs
        from the card's: the pickle is only trusted as the file this installation trained."""
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"{path}: model file not found (train one with `otklik router train`)")
        cp = card_path(path)
        if not cp.exists():
            raise ConfigError(
                f"{path}: no model card {cp.name} beside it; refusing to unpickle an unknown file"
            )
        try:
            card = json.loads(cp.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{cp}:{exc.lineno}: not JSON: {exc.msg}") from None
        if card.get("format") != FORMAT:
            raise ConfigError(f"{cp}: format {card.get('format')!r}, expected {FORMAT!r}; retrain the model")
        if card.get("sha256") != _sha256(path):
            raise ConfigError(f"{path}: sha256 differs from {cp.name}; refusing to unpickle a changed file")
        return cls(joblib.load(path), card)


def card_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.name + ".json")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
