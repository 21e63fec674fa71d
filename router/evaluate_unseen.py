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
from router.evaluate import (
    CATEGORY_GROUPS,
    ArchiveRow,
    archive_accuracy,
    load_archive,
    model_predictions,
    read_archive,
    score,
    svm_predictions,
)

ARCHIVE_GLOB = "kursk_2022_*.csv"


def load_unseen(data: Path) -> dict[str, list[ArchiveRow]]:
    """file name -> its usable rows, for every archive file under `data` with a text column and
    at least one of category_id, topic, executor (the category map beside them is not one)."""
    found: dict[str, list[ArchiveRow]] = {}
    for path in sorted(data.rglob(ARCHIVE_GLOB)) if data.is_dir() else []:
        with path.open(encoding="utf-8", newline="") as f:
            columns = set(next(csv.reader(f), ()))
        if "text" in columns and columns & {"category_id", "topic", "executor"}:
            found[path.name] = read_archive(path, category=False)
    if not found:
        raise ConfigError(f"--data {data}: no {ARCHIVE_GLOB} with a text column")
    return found


def _scores(groups: list[str | None], rows: list[ArchiveRow], topics: list, executors: list) -> dict:
    out: dict = {"n": len(rows)}
    with_category = [(g or "", r[1]) for g, r in zip(groups, rows, strict=True) if r[1] is not None]
    if with_category:
        graded = score([g for g, _ in with_category], [c for _, c in with_category])
        out["accuracy"], out["n_with_category"] = graded["accuracy"], graded["n"]
    out["topic_accuracy"] = archive_accuracy(topics, [r[2] for r in rows])
    out["executor_accuracy"] = archive_accuracy(executors, [r[3] for r in rows])
    return out


def _model_predictions(train: list[ArchiveRow], test: list[ArchiveRow], profile: str | None) -> tuple[list, list, list]:
    from router.classifier import Router

    groups, answers = model_predictions(Router.load(profile), train, [r[0] for r in test])
    answers = answers or [(None, None)] * len(test)
    return [g for g, _ in groups], [a[0] for a in answers], [a[1] for a in answers]


def _baseline_predictions(train: list[ArchiveRow], test: list[ArchiveRow]) -> tuple[list, list, list]:
    from router.text import normalize

    train_texts = [normalize(r[0]) for r in train]
    test_texts = [normalize(r[0]) for r in test]
    columns = ([CATEGORY_GROUPS[r[1]][0] for r in train], [r[2] for r in train], [r[3] for r in train])
    return tuple(svm_predictions(train_texts, labels, test_texts) or [None] * len(test) for labels in columns)


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
