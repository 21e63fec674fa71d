"""`otklik moderate [--profile NAME] < in.jsonl > out.jsonl`.

Input lines `{"id", "author", "text", "created_at"?, "source"?, "answered"?}` in order: earlier lines
are the history; `"answered": true` marks that message's question as answered. A malformed line
is reported on stderr with its number and skipped; the exit status is then 1. Nothing is lost
silently."""

from __future__ import annotations

import argparse
import io
import json
import sys
from datetime import datetime

from pydantic import BaseModel, ValidationError


class ModerateInput(BaseModel):
    id: str | int
    author: str | int
    text: str
    created_at: datetime | None = None
    source: str | None = None
    answered: bool = False


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("moderate", help="moderate JSON lines from stdin; verdicts to stdout")
    p.add_argument("--profile", help="moderation profile name or YAML path")
    p.set_defaults(func=cmd_moderate)


def cmd_moderate(args: argparse.Namespace) -> int:
    from moderation.filter import ModerationFilter
    from moderation.profile import load_profile

    filt = ModerationFilter(load_profile(args.profile))
    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    bad = 0
    for n, line in enumerate(stdin, 1):
        if not line.strip():
            continue
        try:
            item = ModerateInput.model_validate_json(line)
        except ValidationError as exc:
            bad += 1
            first = exc.errors()[0]
            where = ".".join(map(str, first["loc"])) or "line"
            print(f"otklik moderate: line {n}: {where}: {first['msg']}", file=sys.stderr)
            continue
        source = f"{item.source}:" if item.source else ""
        verdict = filt.moderate(str(item.id), f"{source}{item.author}", item.text, item.created_at)
        if item.answered:
            filt.mark_answered(str(item.id))
        out = {"id": item.id, "decision": verdict.decision, "reasons": verdict.reasons}
        if verdict.repeat_of is not None:
            out["repeat_of"] = verdict.repeat_of
        print(json.dumps(out, ensure_ascii=False))
    return 1 if bad else 0
