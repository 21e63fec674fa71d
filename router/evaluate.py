"""`otklik eval router --data DIR`: accuracy and per-group recall on the real appeals in
DIR/appeals/kursk_2022_categories.csv, for the rules alone and for a model trained with 5-fold
cross-validation; plus how many messages the confidence threshold hands to the curator and how
accurate the rest are.

The Kursk `category_id` names are inferred (kursk_2022_category_map_INFERRED.csv). Several merge
groups of the regional classifier, so a category accepts each group it covers (CATEGORY_GROUPS:
the reason is beside each). Category 12 (a test category, one row) is dropped. For training the
model a row lists all its category's groups, as any archive coarser than the 26 groups would
(router.model: such a list is one class)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

from otklik.exceptions import ConfigError

csv.field_size_limit(sys.maxsize)

CATEGORY_GROUPS: dict[str, tuple[str, ...]] = {
    "0": ("Дороги",),  # roads: pits, snow, parking, traffic lights, road signs
    "1": ("Благоустройство", "Экология"),  # stray animals: a yard matter, in some regions an ecology one
    "2": ("МФЦ «Мои документы»",),  # state services
    # «ЖКХ и благоустройство (освещение, люки, деревья, тепло/вода МКД, уборка)»: its topics also cover
    # the power grid of private houses, the utility networks of new districts and household waste
    # collection from apartment blocks (our Электроснабжение, Газ и топливо, Мусор/Свалки/ТКО).
    "3": ("ЖКХ", "Благоустройство", "Электроснабжение", "Газ и топливо", "Мусор/Свалки/ТКО"),
    "4": ("Здравоохранение/Медицина", "Коронавирус"),  # healthcare incl. vaccination and covid certificates
    "5": ("Культура", "Памятники и объекты культурного наследия"),  # culture incl. upkeep of monuments
    "6": (
        "Социальное обслуживание и защита",
        "Коронавирус",
        "Экономика и бизнес",
    ),  # covid-era support measures
    "7": ("Образование",),
    "8": ("Общественный транспорт",),
    "9": ("Связь и телевидение",),  # mobile, internet, post
    "10": ("Социальное обслуживание и защита",),
    "11": ("Строительство и архитектура",),
    "13": ("Торговля", "Роспотребнадзор"),  # trade incl. quality of goods and services
    "14": ("Экономика и бизнес", "Социальное обслуживание и защита"),  # labour and employment services
    "15": ("Физическая культура и спорт",),
    "16": ("Экология", "Мусор/Свалки/ТКО"),  # ecology: dumps, smells, discharges
}
DROPPED = {"12"}  # «Тестовая категория»
FILE = "kursk_2022_categories.csv"


def load_rows(data: Path) -> list[tuple[str, str]]:
    """(text, category_id) of every usable row; the text keeps its HTML (the router strips it)."""
    return [(t, c) for t, c, _, _ in load_archive(data)]


ArchiveRow = tuple[str, str | None, str | None, str | None]  # text, category_id, topic, executor


def load_archive(data: Path) -> list[ArchiveRow]:
    """(text, category_id, topic, executor) of every usable row of DIR/appeals/kursk_2022_categories.csv:
    every row has a category; topic and executor are None when the file has no such column or the
    row leaves it empty."""
    path = data / "appeals" / FILE
    if not path.is_file():
        hits = sorted(data.rglob(FILE)) if data.is_dir() else []
        if not hits:
            raise ConfigError(f"--data {data}: no appeals/{FILE}")
        path = hits[0]
    return read_archive(path, category=True)


def read_archive(path: Path, category: bool) -> list[ArchiveRow]:
    """(text, category_id, topic, executor) of every usable row of one archive file: rows without
    a text and rows of the dropped categories are left out. `category`: the file must have a
    category for every row; otherwise a missing one is None (a file of the same archive without
    the column, such as kursk_2022_test_nocategory.csv)."""
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        columns = set(reader.fieldnames or ())
        if "text" not in columns or (category and "category_id" not in columns):
            raise ConfigError(f"{path}:1: expected columns text{' and category_id' if category else ''}")
        rows = []
        for r in reader:
            cat = (r.get("category_id") or "").strip() or None
            if cat in DROPPED or not (r.get("text") or "").strip():
                continue
            if (cat is None and category) or (cat is not None and cat not in CATEGORY_GROUPS):
                raise ConfigError(f"{path}:{reader.line_num}: category_id {cat or ''!r} has no mapping")
            rows.append((r["text"], cat, (r.get("topic") or "").strip() or None, (r.get("executor") or "").strip() or None))
    return rows


def score(predicted: list[str], categories: list[str]) -> dict:
    correct = [p in CATEGORY_GROUPS[c] for p, c in zip(predicted, categories, strict=True)]
    per_group: dict[str, list[bool]] = defaultdict(list)
    for ok, c in zip(correct, categories, strict=True):
        per_group[CATEGORY_GROUPS[c][0]].append(ok)
    return {
        "accuracy": round(sum(correct) / len(correct), 4),
        "n": len(correct),
        "recall_by_group": {
            g: {"recall": round(sum(v) / len(v), 3), "n": len(v)}
            for g, v in sorted(per_group.items(), key=lambda kv: -len(kv[1]))
        },
    }


def manual_share(
    predicted: list[str], confidence: list[float], categories: list[str], threshold: float
) -> dict:
    """What the threshold does: the share handed to the curator and the accuracy of the rest."""
    auto = [(p, c) for p, conf, c in zip(predicted, confidence, categories, strict=True) if conf >= threshold]
    ok = sum(p in CATEGORY_GROUPS[c] for p, c in auto)
    return {
        "threshold": threshold,
        "needs_manual_share": round(1 - len(auto) / len(predicted), 3),
        "accuracy_of_automatic": round(ok / len(auto), 4) if auto else None,
    }


def evaluate_rules(rows: list[tuple[str, str]], profile: str | None = None) -> dict:
    from router.classifier import Router

    router = Router.load(profile)
    decisions = [router.rules(t) for t, _ in rows]
    cats = [c for _, c in rows]
    predicted = [d.topic_group for d in decisions]
    out = score(predicted, cats)
    out["confidence"] = manual_share(
        predicted, [d.confidence for d in decisions], cats, router.profile.min_confidence
    )
    return out


def split(categories: list[str], folds: int, seed: int):
    """(train, test) row indices of each fold, stratified by group; the model and the baseline are
    measured on the same folds for the same seed."""
    from sklearn.model_selection import StratifiedKFold

    from router.model import stratify

    strat = stratify(
        [CATEGORY_GROUPS[c][0] for c in categories], folds
    )  # tiny classes cannot be split five ways
    return StratifiedKFold(folds, shuffle=True, random_state=seed).split(categories, strat)


def archive_accuracy(predicted: list[str | None], truth: list[str | None]) -> float | None:
    """The share of rows with an archive label whose prediction is exactly that label."""
    pairs = [(p, t) for p, t in zip(predicted, truth, strict=True) if t]
    return round(sum(p == t for p, t in pairs) / len(pairs), 4) if pairs else None


def model_predictions(
    router, train: list[tuple], texts: list[str]
) -> tuple[list[tuple[str, float]], list[tuple[str | None, str | None]] | None]:
    """The model trained on `train` rows (text, category_id, topic, executor) and asked about
    `texts`: (group, confidence) of each; and (archive topic, responsible executor) of each when
    the rows carry the archive's columns, else None."""
    from router.model import TopicModel

    topics = [r[2] for r in train]
    executors = [r[3] for r in train]
    model = TopicModel.train(
        [r[0] for r in train],
        [CATEGORY_GROUPS[r[1]] for r in train],
        rubricator_data=router.rubricator.data,
        topics=topics if any(topics) else None,
        executors=executors if any(executors) else None,
    )
    docs = model.features.docs(texts)
    groups = model.predict(texts, docs)
    if not (any(topics) or any(executors)):
        return groups, None
    return groups, [(topic, execs[0] if execs else None) for topic, execs in model.predict_archive(texts, docs)]


def svm_predictions(train_texts: list[str], labels: list[str | None], texts: list[str]) -> list[str] | None:
    """Plain TF-IDF words and a linear SVM (scikit-learn defaults) trained on the rows that have a
    label, asked about `texts`; None when fewer than two labels are there to learn."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    keep = [i for i, label in enumerate(labels) if label]
    if len({labels[i] for i in keep}) < 2:
        return None
    clf = make_pipeline(TfidfVectorizer(), LinearSVC())
    clf.fit([train_texts[i] for i in keep], [labels[i] for i in keep])
    return list(clf.predict(texts))


def evaluate_model(
    rows: list[tuple], folds: int = 5, seed: int = 0, profile: str | None = None
) -> dict:
    """The model by cross-validation: the group; and, when the rows carry the archive's topic and
    executor, the archive's own fine topic and executor (responsible one) it answers with."""
    from router.classifier import Router

    router = Router.load(profile)
    rows = [(*r, None, None)[:4] for r in rows]  # (text, category) rows have no archive columns
    cats = [r[1] for r in rows]
    predicted, confidence = [""] * len(rows), [0.0] * len(rows)
    archive_out: list[tuple[str | None, str | None]] = [(None, None)] * len(rows)
    archive = False
    for train_idx, test_idx in split(cats, folds, seed):
        groups, answers = model_predictions(router, [rows[i] for i in train_idx], [rows[i][0] for i in test_idx])
        for i, (group, conf) in zip(test_idx, groups, strict=True):
            predicted[i], confidence[i] = group, conf
        if answers is not None:
            archive = True
            for i, answer in zip(test_idx, answers, strict=True):
                archive_out[i] = answer
    out = score(predicted, cats)
    out["confidence"] = manual_share(predicted, confidence, cats, router.profile.min_model_confidence)
    if archive:
        out["topic_accuracy"] = archive_accuracy([a[0] for a in archive_out], [r[2] for r in rows])
        out["executor_accuracy"] = archive_accuracy([a[1] for a in archive_out], [r[3] for r in rows])
    return out


def evaluate_svm_baseline(rows: list[tuple], folds: int = 5, seed: int = 0) -> dict:
    """The issue's yardstick: plain TF-IDF words and a linear SVM (scikit-learn defaults), one per
    column (category → its first group, the archive's topic, its executor), on the model's folds."""
    from router.text import normalize

    texts = [normalize(r[0]) for r in rows]
    cats = [r[1] for r in rows]
    columns = {"group": cats, "topic": [r[2] for r in rows], "executor": [r[3] for r in rows]}
    predicted: dict[str, list[str | None]] = {k: [None] * len(rows) for k in columns}
    for train_idx, test_idx in split(cats, folds, seed):
        for name, labels in columns.items():
            found = svm_predictions(
                [texts[i] for i in train_idx], [labels[i] for i in train_idx], [texts[i] for i in test_idx]
            )
            if found is not None:
                for i, label in zip(test_idx, found, strict=True):
                    predicted[name][i] = label
    out = score([CATEGORY_GROUPS[c][0] if c else "" for c in predicted["group"]], cats)
    out["topic_accuracy"] = archive_accuracy(predicted["topic"], columns["topic"])
    out["executor_accuracy"] = archive_accuracy(predicted["executor"], columns["executor"])
    return out


def evaluate_baseline(rows: list[tuple[str, str]], folds: int = 5, seed: int = 0) -> dict:
    """The yardstick the issue names: plain TF-IDF words and a logistic regression over the
    categories, on the same folds as the model; a category is routed to its first group. C=100:
    at scikit-learn's default C=1 it mostly answers the commonest category (0.64 on the Kursk
    dev appeals against 0.75)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from router.text import normalize

    texts = [normalize(t) for t, _ in rows]
    cats = [c for _, c in rows]
    predicted = [""] * len(rows)
    for train_idx, test_idx in split(cats, folds, seed):
        clf = make_pipeline(TfidfVectorizer(), LogisticRegression(C=100, max_iter=3000))
        clf.fit([texts[i] for i in train_idx], [cats[i] for i in train_idx])
        for i, c in zip(test_idx, clf.predict([texts[i] for i in test_idx]), strict=True):
            predicted[i] = CATEGORY_GROUPS[c][0]
    return score(predicted, cats)


def add_eval_subcommand(eval_subparsers: argparse._SubParsersAction) -> None:
    p = eval_subparsers.add_parser(
        "router", help="routing accuracy on the Kursk appeals: rules, and a model by CV"
    )
    p.add_argument("--data", type=Path, required=True, help="the folder holding appeals/" + FILE)
    p.add_argument("--profile", help="router profile (name or YAML path)")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument(
        "--seeds",
        default="0",
        help="fold shuffles to average over, e.g. 0,1,2,3 (the data is noisy: one split moves ±0.5 points)",
    )
    p.add_argument("--rules-only", action="store_true", help="skip the cross-validated model")
    p.add_argument(
        "--baseline", action="store_true", help="also plain TF-IDF + logistic regression, on the same folds"
    )
    p.add_argument(
        "--train",
        type=Path,
        help="train once on this folder's Kursk appeals and measure on every Kursk file under --data "
        "(appeals the model never saw), beside the TF-IDF + SVM baseline; no cross-validation",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_eval_router)


def cmd_eval_router(args: argparse.Namespace) -> int:
    if args.train is not None:
        from router.evaluate_unseen import evaluate_unseen, print_unseen

        unseen = evaluate_unseen(args.train, args.data, args.profile)
        if args.json:
            print(json.dumps(unseen, ensure_ascii=False, indent=2))
        else:
            print_unseen(unseen)
        return 0
    archive = load_archive(args.data)
    rows = [(t, c) for t, c, _, _ in archive]
    try:
        seeds = [int(s) for s in str(args.seeds).split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--seeds {args.seeds!r}: expected integers separated by commas") from None
    out: dict = {"rules": evaluate_rules(rows, args.profile)}
    if args.baseline:
        out[f"baseline_tfidf_logreg_{args.folds}fold_cv"] = evaluate_baseline(
            rows, args.folds, seeds[0] if seeds else 0
        )
    if not args.rules_only:
        out[f"baseline_tfidf_svm_{args.folds}fold_cv"] = evaluate_svm_baseline(
            archive, args.folds, seeds[0] if seeds else 0
        )
        runs = [evaluate_model(archive, args.folds, seed=s, profile=args.profile) for s in seeds or [0]]
        out[f"model_{args.folds}fold_cv"] = runs[0]
        if len(runs) > 1:
            accs = [r["accuracy"] for r in runs]
            out["model_over_seeds"] = {
                "seeds": seeds,
                "accuracy": accs,
                "mean": round(sum(accs) / len(accs), 4),
                "min": min(accs),
                "max": max(accs),
            }
            for key in ("topic_accuracy", "executor_accuracy"):  # the archive's columns, when present
                values = [r[key] for r in runs if r.get(key) is not None]
                if len(values) == len(runs):
                    out["model_over_seeds"][key.removesuffix("_accuracy")] = {
                        "values": values,
                        "mean": round(sum(values) / len(values), 4),
                    }
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print_table(out)
    return 0


def print_table(out: dict) -> None:
    for name, res in out.items():
        if name == "model_over_seeds":
            print(
                f"model over fold seeds {res['seeds']}: mean accuracy {res['mean']:.4f} "
                f"(min {res['min']:.4f}, max {res['max']:.4f})"
                + "".join(f"; {k} mean {res[k]['mean']:.4f}" for k in ("topic", "executor") if k in res)
            )
            continue
        line = f"{name}: accuracy {res['accuracy']:.4f} on {res['n']} appeals"
        if conf := res.get("confidence"):
            line += (
                f"; confidence < {conf['threshold']}: {conf['needs_manual_share']:.1%} to the curator, "
                f"the rest {conf['accuracy_of_automatic']}"
            )
        archive = [
            f"{k.removesuffix('_accuracy')} {res[k]:.4f}"
            for k in ("topic_accuracy", "executor_accuracy")
            if res.get(k) is not None
        ]
        if archive:
            line += "; the archive's own " + ", ".join(archive)
        print(line)
        for group, r in res["recall_by_group"].items():
            print(f"    {group:<45} recall {r['recall']:.3f}  (n={r['n']})")
