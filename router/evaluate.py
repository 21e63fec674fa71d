"""`otklik eval router --data DIR`: accuracy and per-group recall on the Kursk appeals, for the
rules alone and for a model trained with 5-fold cross-validation.

The Kursk `category_id` names are inferred (kursk_2022_category_map_INFERRED.csv) and some merge
several of our groups, so a category accepts every group it covers: the first one listed is the
label the model is trained on."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

from otklik.exceptions import ConfigError

csv.field_size_limit(sys.maxsize)

CATEGORY_GROUPS: dict[str, tuple[str, ...]] = {
    "0": ("Дороги",),
    "1": ("Благоустройство", "Экология"),  # stray animals
    "2": ("МФЦ «Мои документы»",),
    # «ЖКХ и благоустройство (освещение, люки, деревья, тепло/вода МКД, уборка)»: its topics include
    # the collection of household waste from apartment blocks, our «Мусор/Свалки/ТКО».
    "3": ("ЖКХ", "Благоустройство", "Электроснабжение", "Газ и топливо", "Мусор/Свалки/ТКО"),
    "4": ("Здравоохранение/Медицина", "Коронавирус"),
    "5": ("Культура", "Памятники и объекты культурного наследия"),
    "6": ("Социальное обслуживание и защита", "Коронавирус", "Экономика и бизнес"),  # support measures
    "7": ("Образование",),
    "8": ("Общественный транспорт",),
    "9": ("Связь и телевидение",),
    "10": ("Социальное обслуживание и защита",),
    "11": ("Строительство и архитектура",),
    "13": ("Торговля", "Роспотребнадзор"),
    "14": ("Экономика и бизнес", "Социальное обслуживание и защита"),
    "15": ("Физическая культура и спорт",),
    "16": ("Экология", "Мусор/Свалки/ТКО"),
}


def load_rows(data: Path) -> list[tuple[str, str]]:
    hits = sorted(data.rglob("kursk_2022_categories.csv"))
    if not hits:
        raise ConfigError(f"--data {data}: no kursk_2022_categories.csv found")
    with hits[0].open(encoding="utf-8", newline="") as f:
        return [(r["text"], r["category_id"]) for r in csv.DictReader(f)
                if r.get("category_id") in CATEGORY_GROUPS and r.get("text")]


def score(predicted: list[str], categories: list[str]) -> dict:
    correct = [p in CATEGORY_GROUPS[c] for p, c in zip(predicted, categories, strict=True)]
    per_group: dict[str, list[bool]] = defaultdict(list)
    for ok, c in zip(correct, categories, strict=True):
        per_group[CATEGORY_GROUPS[c][0]].append(ok)
    return {"accuracy": round(sum(correct) / len(correct), 4), "n": len(correct),
            "recall_by_group": {g: round(sum(v) / len(v), 3) for g, v in sorted(per_group.items())}}


def evaluate_rules(rows: list[tuple[str, str]]) -> dict:
    from router.classifier import Router

    router = Router.load()
    return score([router.rules(t)[0] for t, _ in rows], [c for _, c in rows])


def evaluate_model(rows: list[tuple[str, str]], folds: int = 5, seed: int = 0) -> dict:
    from sklearn.model_selection import StratifiedKFold

    from router.model import TopicModel

    texts = [t for t, _ in rows]
    cats = [c for _, c in rows]
    labels = [CATEGORY_GROUPS[c][0] for c in cats]
    counts = Counter(labels)
    # Classes too small to split five ways stay in every training fold's data.
    strat = [lbl if counts[lbl] >= folds else "_rare" for lbl in labels]
    predicted = [""] * len(rows)
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=seed).split(texts, strat):
        model = TopicModel.train([texts[i] for i in train_idx], [labels[i] for i in train_idx])
        for i, (group, _) in zip(test_idx, model.predict([texts[i] for i in test_idx]), strict=True):
            predicted[i] = group
    return score(predicted, cats)


def add_eval_subcommand(eval_subparsers: argparse._SubParsersAction) -> None:
    p = eval_subparsers.add_parser("router", help="routing accuracy on the Kursk appeals: rules, and a CV model")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--rules-only", action="store_true")
    p.set_defaults(func=cmd_eval_router)


def cmd_eval_router(args: argparse.Namespace) -> int:
    rows = load_rows(args.data)
    out = {"rules": evaluate_rules(rows)}
    if not args.rules_only:
        out[f"model_{args.folds}fold_cv"] = evaluate_model(rows, args.folds)
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0
