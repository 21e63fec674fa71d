"""`otklik eval router --train DIR --data DIR2`: the model trained once on DIR's Kursk appeals and
measured on every Kursk file under DIR2 that it never saw — the issue's "unseen appeals".

DIR2 may hold `kursk_2022_categories.csv` (text, topic, executor, category_id) and files of the
same archive without the category (`kursk_2022_test_nocategory.csv`: text, topic, executor). The
group is scored where a row has a category; the archive's fine topic and executor wherever it has
them; each file on its own and all files pooled. The plain TF-IDF + linear SVM baseline is trained
on the same rows and scored on the same ones: the issue's yardstick."""

from __future__ import annotations

import csv
from pathlib import Path

from otklik.exceptions import ConfigError
from router.evaluate import CATEGORY_GROUPS, DROPPED, archive_accuracy, load_archive, score

ARCHIVE_GLOB = "kursk_2022_*.csv"
Row = tuple[str, str | None, str | None, str | None]  # text, category_id, topic, executor


def load_unseen(data: Path) -> dict[str, list[Row]]:
    """file name -> its usable rows, for every archive file under `data` with a text column and
    at least one of category_id, topic, executor (the category map beside them is not one)."""
    found: dict[str, list[Row]] = {}
    for path in sorted(data.rglob(ARCHIVE_GLOB)) if data.is_dir() else []:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            columns = set(reader.fieldnames or ())
            if "text" not in columns or not columns & {"category_id", "topic", "executor"}:
                continue
            rows: list[Row] = []
            for r in reader:
                cat = (r.get("category_id") or "").strip() or None
                if cat in DROPPED or not (r.get("text") or "").strip():
                    continue
                if cat is not None and cat not in CATEGORY_GROUPS:
                    raise ConfigError(f"{path}:{reader.line_num}: category_id {cat!r} has no mapping")
                topic = (r.get("topic") or "").strip() or None
                executor = (r.get("executor") or "").strip() or None
                rows.append((r["text"], cat, topic, executor))
        found[path.name] = rows
    if not found:
        raise ConfigError(f"--data {data}: no {ARCHIVE_GLOB} with a text column")
    return found


def _scores(groups: list[str | None], rows: list[Row], topics: list, executors: list) -> dict:
    out: dict = {"n": len(rows)}
    with_category = [(g or "", r[1]) for g, r in zip(groups, rows, strict=True) if r[1] is not None]
    if with_category:
        graded = score([g for g, _ in with_category], [c for _, c in with_category])
        out["accuracy"], out["n_with_category"] = graded["accuracy"], graded["n"]
    out["topic_accuracy"] = archive_accuracy(topics, [r[2] for r in rows])
    out["executor_accuracy"] = archive_accuracy(executors, [r[3] for r in rows])
    return out


def _model_predictions(train: list[tuple], test: list[Row], profile: str | None) -> tuple[list, list, list]:
    from router.classifier import Router
    from router.model import TopicModel

    router = Router.load(profile)
    model = TopicModel.train(
        [r[0] for r in train],
        [CATEGORY_GROUPS[r[1]] for r in train],
        rubricator_data=router.rubricator.data,
        topics=[r[2] for r in train],
        executors=[r[3] for r in train],
    )
    texts = [r[0] for r in test]
    docs = model.features.docs(texts)
    groups = [g for g, _ in model.predict(texts, docs)]
    archive = model.predict_archive(texts, docs)
    return groups, [t for t, _ in archive], [e[0] if e else None for _, e in archive]


def _baseline_predictions(train: list[tuple], test: list[Row]) -> tuple[list, list, list]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    from router.text import normalize

    train_texts = [normalize(r[0]) for r in train]
    test_texts = [normalize(r[0]) for r in test]
    columns = {
        "group": [CATEGORY_GROUPS[r[1]][0] for r in train],
        "topic": [r[2] for r in train],
        "executor": [r[3] for r in train],
    }
    out = {}
    for name, labels in columns.items():
        keep = [i for i, label in enumerate(labels) if label]
        clf = make_pipeline(TfidfVectorizer(), LinearSVC())
        clf.fit([train_texts[i] for i in keep], [labels[i] for i in keep])
        out[name] = list(clf.predict(test_texts))
    return out["group"], out["topic"], out["executor"]


def evaluate_unseen(train_dir: Path, data: Path, profile: str | None = None) -> dict:
    """{"model": {...}, "baseline_tfidf_svm": {...}}, each with "pooled" and one entry per file."""
    if train_dir.resolve() == data.resolve():
        raise ConfigError(f"--train {train_dir} is --data too: the model would be measured on rows it learned")
    train = load_archive(train_dir)
    sets = load_unseen(data)
    test = [row for rows in sets.values() for row in rows]
    out: dict = {"trained_on": len(train)}
    for name, predict in (
        ("model", lambda: _model_predictions(train, test, profile)),
        ("baseline_tfidf_svm", lambda: _baseline_predictions(train, test)),
    ):
        groups, topics, executors = predict()
        result = {"pooled": _scores(groups, test, topics, executors)}
        start = 0
        for file, rows in sets.items():
            end = start + len(rows)
            result[file] = _scores(groups[start:end], rows, topics[start:end], executors[start:end])
            start = end
        out[name] = result
    return out


def print_unseen(out: dict) -> None:
    print(f"trained once on {out['trained_on']} appeals; measured on appeals it never saw")
    for name in ("model", "baseline_tfidf_svm"):
        for part, res in out[name].items():
            figures = [f"n={res['n']}"]
            if "accuracy" in res:
                figures.append(f"group {res['accuracy']:.4f} (n={res['n_with_category']})")
            for key in ("topic_accuracy", "executor_accuracy"):
                if res.get(key) is not None:
                    figures.append(f"{key.removesuffix('_accuracy')} {res[key]:.4f}")
            print(f"{name:<20} {part:<36} " + ", ".join(figures))
