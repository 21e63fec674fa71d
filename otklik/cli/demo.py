"""`otklik demo`: everything locally, against the emulators, with a live view."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the whole pipeline locally against the platform emulators")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of citizen traffic (default 60)")
    p.add_argument("--rate", type=float, default=1.0, help="citizen messages per second (default 1)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--chaos", action="store_true", help="SIGKILL the daemon and the worker at random moments")
    p.add_argument("--faults", action="store_true", help="platforms answer 5xx, 429, time out, send bad JSON")
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.add_argument("--summary-json", type=Path, help="write the final counts here")
    p.add_argument("--var-dir", type=Path, default=Path("var/demo"))
    p.add_argument("--quiet", action="store_true", help="no live view")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from otklik.demo.run import DemoOptions, run_demo
    from otklik.demo.view import LiveView

    opts = DemoOptions(duration=args.duration, rate=args.rate, seed=args.seed, chaos=args.chaos,
                       var_dir=args.var_dir, workers=args.workers, faults=args.faults)
    view = None if args.quiet else LiveView()
    try:
        summary = run_demo(opts, view=view)
    finally:
        if view:
            view.close()
    text = json.dumps(summary, ensure_ascii=False, indent=2)
    if args.summary_json:
        args.summary_json.write_text(text, encoding="utf-8")
    print(text)
    print(f"Итог: от жителей {summary['received']}, сохранено {summary['stored']}, "
          f"потеряно {summary['lost']}, ответов опубликовано {summary['published']}, "
          f"опубликовано дважды {summary['duplicates_posted']}", file=sys.stderr)
    return 0 if summary["lost"] == 0 and summary["duplicates_posted"] == 0 else 1
