"""`otklik eval moderation --data DIR` and `otklik eval router --data DIR`: measurements on the
third-party labelled sets. DIR is given explicitly; nothing else is read."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="measure moderation or routing on labelled data")
    groups = p.add_subparsers(dest="eval_command", required=True)
    m = groups.add_parser(
        "moderation",
        help="precision, recall and false-positive rate per dataset and slice",
        description="Runs the text rules over the labelled sets found under --data (by file name, in any "
        "subfolder): russian_distorted_toxicity.tsv, russe_detox_2022_{train,dev,test}.tsv, Kursk and "
        "St Petersburg appeals CSVs (all must be kept), spb_gorod_followups.csv (repeat links).",
    )
    m.add_argument("--data", type=Path, required=True, help="a folder with the evaluation files")
    m.add_argument("--json", action="store_true", help="print JSON instead of a table")
    m.set_defaults(func=cmd_moderation)
    from router.evaluate import add_eval_subcommand

    add_eval_subcommand(groups)


def cmd_moderation(args: argparse.Namespace) -> int:
    from moderation.evaluate import evaluate, print_table
    from otklik.exceptions import ConfigError

    if not args.data.is_dir():
        raise ConfigError(f"--data {args.data}: not a folder")
    rows = evaluate(args.data)
    if not rows:
        raise ConfigError(f"--data {args.data}: no known evaluation files found")
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        print_table(rows)
    return 0
