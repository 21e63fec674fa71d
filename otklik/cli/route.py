"""`otklik route [--profile NAME] [--model PATH] < in.jsonl > out.jsonl` and
`otklik router train --history FILE [--out PATH]`."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

from pydantic import BaseModel, ValidationError


class RouteInput(BaseModel):
    id: str | int
    text: str


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("route", help="route JSON lines {id, text} from stdin; routings to stdout")
    p.add_argument("--profile", help="router profile YAML (rubricator, executors, gazetteer, importance)")
    p.add_argument("--model", type=Path, help="a model trained with `otklik router train`")
    p.set_defaults(func=cmd_route)
    r = sub.add_parser("router", help="router maintenance").add_subparsers(dest="router_command", required=True)
    t = r.add_parser("train", help="learn from the municipality's archive (CSV or JSONL: text, topic_group, ...)")
    t.add_argument("--history", type=Path, required=True)
    t.add_argument("--out", type=Path, default=Path("var/router_model.joblib"))
    t.set_defaults(func=cmd_train)


def cmd_route(args: argparse.Namespace) -> int:
    from router.classifier import Router

    router = Router.load(args.profile, args.model)
    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    bad = 0
    for n, line in enumerate(stdin, 1):
        if not line.strip():
            continue
        try:
            item = RouteInput.model_validate_json(line)
        except ValidationError as exc:
            bad += 1
            first = exc.errors()[0]
            print(f"otklik route: line {n}: {'.'.join(map(str, first['loc'])) or 'line'}: {first['msg']}",
                  file=sys.stderr)
            continue
        r = router.route(item.text)
        print(json.dumps({"id": item.id, "topic_group": r.topic_group, "topic": r.topic,
                          "confidence": r.confidence, "importance": r.importance,
                          "location": [loc.name for loc in r.location], "executors": r.executors,
                          "needs_manual": r.needs_manual}, ensure_ascii=False))
    return 1 if bad else 0


def cmd_train(args: argparse.Namespace) -> int:
    from router.model import TopicModel, read_history

    rows = read_history(args.history)
    model = TopicModel.train([r["text"] for r in rows], [r["topic_group"] for r in rows])
    model.card["history"] = str(args.history)
    model.save(args.out)
    print(f"trained on {len(rows)} messages, {len(model.card['classes'])} topic groups; saved to {args.out}")
    return 0
