"""The model learned from a municipality's own archive of routed messages.

Features (router.features): TF-IDF over stem unigrams and bigrams (weighted 1.5: the stems carry
the topic), TF-IDF over character 3–5-grams (robust to typos and to words the stemmer cuts
badly), the rubricator's scores per group and topic (the day-one rules, so the hand-written domain
knowledge helps where the archive is thin), and the mean of pretrained Russian word vectors
(router.vectors: synonyms the archive never saw).
Classifier: a linear SVM with square-root balanced class weights; its margins are turned into probabilities
by a softmax whose temperature is fitted on held-out folds of the archive itself.

Classes are the archive's labels as written. An archive whose categories are coarser than the 26
groups lists every group a row may belong to (one category «ЖКХ и благоустройство» covering
ЖКХ, Благоустройство, Электроснабжение…); such a list is one class. The routed group is the one
most likely to be acceptable: each group collects the probability of every class that lists it.
Groups that tie (listed by the same classes) are told apart by the rules' points, then by the
order the archive lists them in. Measured on the Kursk dev appeals, this beats splitting each
coarse row into one group up front (0.854 against 0.846 accuracy over eight fold seeds): a road
or yard complaint no longer has the road group's probability set against each slice of the
coarse category separately.

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
from sklearn.model_selection import StratifiedKFold
from sklearn.naive_bayes import ComplementNB
from sklearn.svm import LinearSVC

from otklik.exceptions import ConfigError
from router.features import FORM_WIDTH, Doc, Featurizer
from router.rubricator import GROUPS, RubricatorFile, load_rubricator
from router.territories import Territories

FORMAT = "otklik-router-model/7"
# Block weights and C chosen by 5-fold CV on the Kursk dev appeals over eight fold seeds; moves of
# ±0.5 points between neighbouring settings are within the noise of that data.
SEPARATOR = "|"  # joins the groups of one class, as in the history CSV
RULES_SCALE = 0.3  # the rules' block next to the TF-IDF blocks of unit norm
STEM_WEIGHT = 1.5
VECTORS_SCALE = 1.5
SVM_C = 0.2
CLASS_WEIGHT_POWER = 0.5
CHAR_MAX_FEATURES = 50_000
CALIBRATION_FOLDS = 3
FORM_SCALE = 0.5  # the message's form (router.features.form_features), 5-fold CV on the Kursk dev rows
HEAD_C = {"topic": 0.2, "executor": 0.1}  # the archive's heads (chosen like SVM_C, on the Kursk dev rows)
# Who handles a message follows its intake channel, which its form shows; its topic does not. With
# the form block the executor gained 1.3 points (Kursk dev, 5-fold) while the groups lost 0.5 and
# the fine topic 0.6: only the executor head reads it, the others see those columns as zeros
# (a linear SVM gives zero columns zero weight, so they are exactly the models without it).
FORM_HEADS = {"executor"}
HEAD_ALTERNATIVES = 3
# The executor head adds a complement naive Bayes on the stem block to its SVM's margins (weighted
# as below, after scaling the Bayes scores to a unit spread across classes). Kursk dev, 5-fold CV,
# fold seeds 0–3: executor 0.4514 → 0.4594 (seed 0: 0.4499 → 0.4603). Both are linear in the features, so
# the sum is one set of weights: routing costs nothing more. Tried and dropped (no gain beyond the
# ±0.5-point noise, or a loss): a topic → executor prior mixed with the margins, a prior towards the
# most frequent executor, C 0.05–0.5, balanced or no class weights, hinge loss, Crammer–Singer,
# heavier form/character/rules blocks, a nearest archived message, a logistic regression on the
# dense blocks (+0.2 more at 12 s of training a fit).
NB_HEADS = {"executor": 0.1}
NB_ALPHA = 0.1


def build(rubricator_data: RubricatorFile) -> tuple[Featurizer, LinearSVC]:
    features = Featurizer(
        rubricator_data,
        stem_weight=STEM_WEIGHT,
        vectors_scale=VECTORS_SCALE,
        rules_scale=RULES_SCALE,
        char_max_features=CHAR_MAX_FEATURES,
        form_scale=FORM_SCALE,
    )
    return features, LinearSVC(C=SVM_C, max_iter=20_000)


def class_weights(y: list[str]) -> np.ndarray:
    """Each message's weight: the square root of what balanced weights would give, so a class ten
    times rarer counts about three times more per message. Rare classes get heard without their
    handful of rows dictating the boundary (Kursk dev, 8 fold seeds: 0.858 against 0.854 with
    balanced class weights and 0.854 with none). Sample weights, not `class_weight`: liblinear's
    one-vs-rest applies a class weight only where that class is the positive side."""
    counts = Counter(y)
    per_class = {c: (len(y) / (len(counts) * n)) ** CLASS_WEIGHT_POWER for c, n in counts.items()}
    return np.array([per_class[c] for c in y])


def fit(rubricator_data: RubricatorFile, docs: list[Doc], y: list[str]) -> tuple[Featurizer, LinearSVC]:
    features, svm = build(rubricator_data)
    svm.fit(formless(features.fit(docs).transform(docs)), y, sample_weight=class_weights(y))
    return features, svm


def formless(x: sp.csr_matrix) -> sp.csr_matrix:
    """The features with the form block (the last columns, Featurizer.transform) set to zero."""
    return sp.hstack([x[:, : x.shape[1] - FORM_WIDTH], sp.csr_matrix((x.shape[0], FORM_WIDTH))], format="csr")


def class_names(labels: list[str | tuple[str, ...]]) -> list[str]:
    """Each history row's class: its group, or its alternatives joined in the order first listed
    (the first listed is preferred when nothing else tells the groups apart); the same set listed
    in another order is the same class."""
    first_listing: dict[frozenset[str], str] = {}
    out = []
    for label in labels:
        groups = (label,) if isinstance(label, str) else tuple(label)
        out.append(first_listing.setdefault(frozenset(groups), SEPARATOR.join(groups)))
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


_BLAS = None


def one_thread():
    """BLAS limited to one thread while routing a batch: its products here are small (a batch ×
    300 vector dimensions × the classes), and OpenBLAS's threads waiting on a busy machine cost
    more than they compute (profiled: 40% of the model's time on two shared cores)."""
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


class Scorer:
    """The margins of one or more linear SVMs on the same features, computed block by block
    against their weights laid out features × classes (all the SVMs' classes side by side) in
    contiguous memory: no stacking of the blocks, each feature reads one run of memory, and the
    group model and the archive's heads are scored in one pass. `slices[k]` are the columns of
    the k-th SVM's classes."""

    def __init__(self, features: Featurizer, *svms: LinearSVC) -> None:
        coefs, intercepts, self.slices = [], [], []
        start = 0
        for svm in svms:
            coef, intercept = svm.coef_, svm.intercept_
            if coef.shape[0] == 1:  # two classes: sklearn keeps the second class's weights only
                coef, intercept = np.vstack([-coef, coef]), np.concatenate([-intercept, intercept])
            coefs.append(coef)
            intercepts.append(intercept)
            self.slices.append(slice(start, start + len(coef)))
            start += len(coef)
        self.intercept = np.concatenate(intercepts)
        weights = np.ascontiguousarray(np.vstack(coefs).T)
        cuts = np.cumsum(features.widths())[:-1]
        self.weights = np.split(weights, cuts)

    def __call__(self, blocks: list) -> np.ndarray:
        """Margins per class for the docs whose feature `blocks` (Featurizer.blocks) are given."""
        return np.asarray(self.intercept + sum(block @ w for block, w in zip(blocks, self.weights, strict=True)))


class GroupChoice:
    """Class probabilities → one group per message: the group the most probability says is
    acceptable, ties (groups listed by the same classes) broken by the rules' points and then by
    the order the archive lists the groups in."""

    def __init__(self, classes: list[str]) -> None:
        listings = [c.split(SEPARATOR) for c in classes]
        self.groups = [g for g in GROUPS if any(g in listing for listing in listings)]
        col = {g: i for i, g in enumerate(self.groups)}
        self.member = np.zeros((len(classes), len(self.groups)))
        self.listed = np.zeros((len(classes), len(self.groups)))  # 1 for the first listed, less after
        for k, listing in enumerate(listings):
            for pos, g in enumerate(listing):
                self.member[k, col[g]] = 1.0
                self.listed[k, col[g]] = (len(listing) - pos) / len(listing)
        self.rule_cols = [GROUPS.index(g) for g in self.groups]

    def __call__(self, proba: np.ndarray, rule_groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(group index, probability that the group is acceptable) per row of `proba`, given the
        rules' points per group of GROUPS (Featurizer.rule_groups; only their order in a row counts)."""
        cover = proba @ self.member
        points = rule_groups[:, self.rule_cols]
        top = points.max(axis=1, keepdims=True)
        top[top == 0] = 1.0
        # Rounded, ties are exact; the tie-breakers stay below the rounding step.
        key = np.round(cover, 6) + 1e-7 * points / top + 1e-9 * self.listed[proba.argmax(axis=1)]
        best = key.argmax(axis=1)
        return best, cover[np.arange(len(best)), best]


class Linear:
    """A linear classifier's weights as a Scorer reads them (`coef_` classes × features,
    `intercept_`, `classes_`, like a fitted LinearSVC)."""

    def __init__(self, coef: np.ndarray, intercept: np.ndarray, classes: np.ndarray) -> None:
        self.coef_, self.intercept_, self.classes_ = coef, intercept, classes


def with_naive_bayes(svm: LinearSVC, x: sp.csr_matrix, labels: list[str], width: int, weight: float) -> Linear:
    """The SVM's weights plus `weight` times a complement naive Bayes learned on the first `width`
    columns of `x` (the stem block: non-negative TF-IDF). Its scores (x · log-probabilities; the
    class prior does not enter) are divided by their mean spread across classes on the training
    rows, so `weight` reads on the scale of the margins whatever the archive's size."""
    stems = x[:, :width]
    nb = ComplementNB(alpha=NB_ALPHA).fit(stems, labels)
    if list(nb.classes_) != list(svm.classes_):  # both sort the labels; a guard, not a case
        raise ValueError("naive Bayes and SVM classes differ")
    log_prob = nb.feature_log_prob_
    spread = float(np.mean(np.std(np.asarray(stems @ log_prob.T), axis=1))) or 1.0
    coef = np.array(svm.coef_, dtype=np.float64)
    coef[:, :width] += (weight / spread) * log_prob
    return Linear(coef, np.array(svm.intercept_, dtype=np.float64), svm.classes_)


class ArchiveHead:
    """One of the archive's own label columns (its fine topic, its executor) learned on the same
    features as the groups: a linear SVM with square-root balanced weights, answered as written;
    for the heads in NB_HEADS, with a naive Bayes on the stems added to its weights."""

    def __init__(self, svm: LinearSVC | Linear) -> None:
        self.svm = svm
        self.classes: list[str] = [str(c) for c in svm.classes_]

    @classmethod
    def fit(
        cls, x, values: list[str | None], c: float, *, nb_weight: float = 0.0, stem_width: int = 0
    ) -> ArchiveHead | None:
        rows = [i for i, v in enumerate(values) if v]
        labels = [str(values[i]).strip() for i in rows]
        if len(set(labels)) < 2:
            return None
        svm = LinearSVC(C=c, max_iter=20_000)
        svm.fit(x[rows], labels, sample_weight=class_weights(labels))
        if nb_weight and stem_width and len(set(labels)) > 2:
            return cls(with_naive_bayes(svm, x[rows], labels, stem_width, nb_weight))
        return cls(svm)

    def predict(self, features: Featurizer, blocks: list) -> list[list[str]]:
        """Per doc, the classes best first (the first is the answer; the rest for a curator)."""
        margins = Scorer(features, self.svm)(blocks)
        order = np.argsort(-margins, axis=1)[:, :HEAD_ALTERNATIVES]
        return [[self.classes[k] for k in row] for row in order]


class TopicModel:
    def __init__(
        self,
        features: Featurizer,
        svm: LinearSVC,
        card: dict,
        heads: dict[str, ArchiveHead] | None = None,
        territories: Territories | None = None,
    ) -> None:
        self.features = features
        self.svm = svm
        self.card = card
        self.heads = heads or {}
        self.territories = territories
        self.classes: list[str] = [str(c) for c in svm.classes_]
        self.choice = GroupChoice(self.classes)
        self.temperature = float(card.get("temperature", 1.0))
        # The groups' SVM and the heads', in one pass over the features.
        self.scorer = Scorer(features, svm, *(h.svm for h in self.heads.values()))
        self._head_cols = dict(zip(self.heads, self.scorer.slices[1:], strict=True))

    @property
    def groups(self) -> list[str]:
        """The topic groups this model can route to."""
        return self.choice.groups

    @property
    def rubricator_data(self) -> RubricatorFile:
        return self.features.rubricator_data

    @classmethod
    def train(
        cls,
        texts: list[str],
        labels: list[str | tuple[str, ...]],
        *,
        rubricator_data: RubricatorFile | None = None,
        calibrate: bool = True,
        topics: list[str | None] | None = None,
        executors: list[str | None] | None = None,
    ) -> TopicModel:
        """`labels`: each row's group, or the tuple of groups a coarse archive category allows.
        `topics`, `executors`: the archive's own fine topic and executor of each row (None where
        the row has none); learned when given, so the model answers in the archive's words."""
        data = rubricator_data or load_rubricator().data
        features, _ = build(data)
        docs = features.docs(texts)
        y = class_names(labels)
        counts = Counter(y)
        if len(counts) < 2:
            raise ConfigError("the history needs messages of at least two topic groups to learn from")
        temperature, cv_accuracy = 1.0, None
        if calibrate and len(texts) >= 10 * CALIBRATION_FOLDS:
            temperature, cv_accuracy = cls._calibrate(docs, y, data)
        features, svm = build(data)
        x = features.fit(docs).transform(docs)
        plain = formless(x)
        svm.fit(plain, y, sample_weight=class_weights(y))
        heads = {
            name: head
            for name, values in (("topic", topics), ("executor", executors))
            if values is not None
            and (
                head := ArchiveHead.fit(
                    x if name in FORM_HEADS else plain,
                    values,
                    HEAD_C[name],
                    nb_weight=NB_HEADS.get(name, 0.0),
                    stem_width=features.widths()[0],
                )
            )
            is not None
        }
        card = {
            "format": FORMAT,
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "rows": len(texts),
            "classes": dict(sorted(counts.items())),
            "temperature": temperature,
            "cv_accuracy": cv_accuracy,
            "archive": {name: len(head.classes) for name, head in heads.items()},
        }
        territories = (
            Territories.learn(executors, [d.tokens for d in docs]) if "executor" in heads and executors else None
        )
        return cls(features, svm, card, heads, territories)

    @staticmethod
    def _calibrate(docs: list[Doc], y: list[str], data: RubricatorFile) -> tuple[float, float]:
        """The temperature fitted on held-out folds, and the share of held-out rows routed to a
        group their label allows."""
        strat = stratify(y, CALIBRATION_FOLDS)
        classes = sorted(set(y))
        decisions = np.full((len(docs), len(classes)), -10.0)
        rule_groups = np.zeros((len(docs), len(GROUPS)))
        for tr, te in StratifiedKFold(CALIBRATION_FOLDS, shuffle=True, random_state=0).split(docs, strat):
            if len({y[i] for i in tr}) < 2:
                continue
            features, svm = fit(data, [docs[i] for i in tr], [y[i] for i in tr])
            cols = [classes.index(str(c)) for c in svm.classes_]
            blocks = features.blocks([docs[i] for i in te])
            decisions[np.ix_(te, cols)] = Scorer(features, svm)(blocks)
            rule_groups[te] = features.rule_groups(blocks)
        truth = np.array([classes.index(lbl) for lbl in y])
        temperature = _fit_temperature(decisions, truth)
        choice = GroupChoice(classes)
        best, _ = choice(_softmax(decisions, temperature), rule_groups)
        allowed = choice.member[truth, best] > 0
        return temperature, round(float(np.mean(allowed)), 4)

    def predict(self, texts: list[str], docs: list[Doc] | None = None) -> list[tuple[str, float]]:
        """(group, confidence) per text; the confidence is the calibrated probability that the
        group is one the archive's labels would accept. `docs` are the texts' words and rules'
        scores when the caller has them already — valid only when scored with this model's
        rubricator data (`rubricator_data`)."""
        if docs is None:
            docs = self.features.docs(texts)
        if not docs:
            return []
        return [(g, c) for g, c, _, _ in self.predict_all(texts, docs)]

    def _groups(self, blocks: list, margins: np.ndarray) -> list[tuple[str, float]]:
        proba = _softmax(margins[:, self.scorer.slices[0]], self.temperature)
        best, confidence = self.choice(proba, self.features.rule_groups(blocks))
        return [(self.groups[g], round(float(c), 4)) for g, c in zip(best, confidence, strict=True)]

    def predict_archive(
        self, texts: list[str], docs: list[Doc] | None = None
    ) -> list[tuple[str | None, list[str]]]:
        """Per text, the archive's own fine topic and its executors (responsible first), or
        (None, []) for what the archive did not have. A settlement or district named in the text
        decides a territorial executor (Territories)."""
        if not self.heads:
            return [(None, [])] * len(texts)
        if docs is None:
            docs = self.features.docs(texts)
        return [(t, e) for _, _, t, e in self.predict_all(texts, docs)]

    def predict_all(
        self, texts: list[str], docs: list[Doc] | None = None
    ) -> list[tuple[str, float, str | None, list[str]]]:
        """`predict` and `predict_archive` together, the features computed once:
        (group, confidence, archive topic, archive executors) per text."""
        if docs is None:
            docs = self.features.docs(texts)
        if not docs:
            return []
        with one_thread():
            blocks = self.features.blocks(docs, scoring=True)
            margins = self.scorer(blocks)
            groups = self._groups(blocks, margins)
        archive = self._archive(docs, margins) if self.heads else [(None, [])] * len(docs)
        return [(g, c, t, e) for (g, c), (t, e) in zip(groups, archive, strict=True)]

    def _archive(self, docs: list[Doc], margins: np.ndarray) -> list[tuple[str | None, list[str]]]:
        out: list[tuple[str | None, list[str]]] = [(None, []) for _ in docs]
        for name, head in self.heads.items():
            best = margins[:, self._head_cols[name]].argmax(axis=1)
            for i, k in enumerate(best):
                label = head.classes[k]
                if name == "topic":
                    out[i] = (label, out[i][1])
                else:
                    out[i] = (out[i][0], [label])
        if self.territories is not None and "executor" in self.heads:
            for i, doc in enumerate(docs):
                out[i] = (out[i][0], self.territories.decide(doc.tokens, out[i][1]))
        return out

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        parts = {"features": self.features, "svm": self.svm, "heads": self.heads, "territories": self.territories}
        joblib.dump(parts, path, compress=3)
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
        parts = joblib.load(path)
        return cls(parts["features"], parts["svm"], card, parts.get("heads"), parts.get("territories"))


def card_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.name + ".json")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
