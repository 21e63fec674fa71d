"""`otklik route [--profile NAME] [--model PATH] < in.jsonl > out.jsonl` and
`otklik router train --history FILE [--corrections FILE] [--out PATH]`, `otklik router explain TEXT`."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

BATCH = 256  # lines routed together: with a model, one prediction call per batch


class RouteInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str | int
    text: str


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("route", help="route JSON lines {id, text} from stdin; routings to stdout")
    p.add_argument("--profile", help="router profile: a name in router/data/profiles or a YAML path")
    p.add_argument("--model", type=Path, help="a model trained with `otklik router train`")
    p.set_defaults(func=cmd_route)

    r = sub.add_parser("router", help="the topic router: train a model, explain a decision")
    rs = r.add_subparsers(dest="router_command", required=True)
    t = rs.add_parser(
        "train", help="learn from the archive (CSV or JSONL: text, topic_group, topic, executor)"
    )
    t.add_argument("--history", type=Path, required=True)
    t.add_argument("--out", type=Path, default=Path("var/router_model.joblib"))
    t.add_argument("--profile", help="router profile whose rubricator the model uses")
    t.add_argument(
        "--corrections",
        type=Path,
        action="append",
        default=[],
        help="curators' corrections to learn too (var/router_corrections.jsonl); may be repeated",
    )
    t.set_defaults(func=cmd_train)
    e = rs.add_parser("explain", help="show the routing of one text and the rubricator words found")
    e.add_argument("text")
    e.add_argument("--profile")
    e.add_argument("--model", type=Path)
    e.set_defaults(func=cmd_explain)


def _output(item_id: str | int, r) -> str:
    out = {
        "id": item_id,
        "topic_group": r.topic_group,
        "topic": r.topic,
        "confidence": r.confidence,
        "importance": r.importance,
        "location": [loc.name for loc in r.location],
        "executors": r.executors,
        "needs_manual": r.needs_manual,
    }
    # A model trained on an archive with topic and executor columns answers in the archive's own
    # words; the rubricator's topic and the configured departments stay beside them.
    if r.archive_topic:
        out["rubricator_topic"], out["topic"] = r.topic, r.archive_topic
    if r.archive_executors:
        out["departments"], out["executors"] = r.executors, r.archive_executors
    return json.dumps(out, ensure_ascii=False)


def cmd_route(args: argparse.Namespace) -> int:
    from router.classifier import Router

    router = Router.load(args.profile, args.model)
    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    bad = 0
    batch: list[RouteInput] = []

    def flush() -> None:
        for item, routing in zip(batch, router.route_many([b.text for b in batch]), strict=True):
            print(_output(item.id, routing))
        batch.clear()

    for n, line in enumerate(stdin, 1):
        if not line.strip():
            continue
        try:
            batch.append(RouteInput.model_validate_json(line))
        except ValidationError as exc:
            bad += 1
            first = exc.errors()[0]
            where = ".".join(map(str, first["loc"])) or "line"
            print(f"otklik route: line {n}: {where}: {first['msg']}", file=sys.stderr)
            continue
        if len(batch) >= BATCH:
            flush()
    flush()
    return 1 if bad else 0


def cmd_train(args: argparse.Namespace) -> int:
    from router.classifier import Router
    from router.learning import read_history
    from router.model import TopicModel

    rows = read_history(args.history)
    # The curators' corrections folded into the training rows (the running router applied them
    # already, router.corrections); a missing file is nothing corrected yet.
    corrected = [r for path in args.corrections if path.is_file() and path.stat().st_size for r in read_history(path)]
    rows += corrected
    router = Router.load(args.profile)
    model = TopicModel.train(
        [r.text for r in rows],
        [r.topic_group for r in rows],
        rubricator_data=router.rubricator.data,
        topics=[r.topic for r in rows] if any(r.topic for r in rows) else None,
        executors=[r.executor for r in rows] if any(r.executor for r in rows) else None,
    )
    model.card["history"] = str(args.history)
    model.card["corrections"] = len(corrected)
    path = model.save(args.out)
    cv = model.card.get("cv_accuracy")
    print(
        f"trained on {len(rows)} messages: {len(model.classes)} classes, {len(model.groups)} topic groups"
        + (f", held-out accuracy {cv:.3f}" if cv is not None else "")
        + "".join(f", {n} archive {name}s" for name, n in model.card.get("archive", {}).items())
        + (f", {len(corrected)} curators' corrections among them" if corrected else "")
        + f"; saved to {path}"
    )
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from router.classifier import Router

    router = Router.load(args.profile, args.model)
    routing = router.route(args.text)
    print(
        json.dumps(
            {**routing.model_dump(mode="json"), "keywords": router.rubricator.explain(args.text)},
            ensure_ascii=False,
            indent=2,
        )
    )
    return 0
