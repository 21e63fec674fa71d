"""`otklik moderate [--profile NAME] < in.jsonl > out.jsonl`.

Input lines `{"id", "author", "text", "created_at"?, "source"?, "answered"?}` in order: earlier lines
are the history; `"answered": true` marks that message's question as answered (after its own
verdict). Output lines `{"id", "decision", "reasons", "spans", "repeat_of"?}`.

A malformed line (not JSON, a missing or wrongly typed field) is reported on stderr with its line
number and skipped; the run goes on, and the exit status is then 1. Undecodable bytes are replaced,
not fatal. Nothing is lost silently.

Repeats are the same author's: the author is keyed by platform (`source` up to its first ":", so a
VK user cross-posting to two communities `vk:club1` and `vk:club2` is one author) and author id.
"""

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


def author_key(item: ModerateInput) -> str:
    platform = (item.source or "").split(":", 1)[0]
    return f"{platform}:{item.author}" if platform else str(item.author)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "moderate",
        help="moderate JSON lines from stdin; verdicts to stdout",
        description="Moderate JSON lines from stdin (earlier lines are the history); one verdict "
        "per line to stdout. Malformed lines are reported on stderr and skipped (exit status 1).",
    )
    p.add_argument("--profile", help="moderation profile: a name in moderation/profiles/ or a YAML path")
    p.set_defaults(func=cmd_moderate)


def _problem(exc: ValidationError | ValueError) -> str:
    if not isinstance(exc, ValidationError):
        return f"not JSON: {exc}"
    first = exc.errors()[0]
    where = ".".join(map(str, first["loc"]))
    return f"{where}: {first['msg']}" if where else first["msg"]


def parse_line(line: str) -> ModerateInput:
    """One input line; raises ValidationError or ValueError with what is wrong."""
    try:
        return ModerateInput.model_validate_json(line)
    except ValidationError:
        # pydantic's parser refuses lone surrogate escapes ("\ud800") that json accepts; such a
        # text is still moderated (the surrogates are replaced below).
        return ModerateInput.model_validate(json.loads(line))


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
            item = parse_line(line)
        except (ValidationError, ValueError) as exc:
            bad += 1
            print(f"otklik moderate: line {n}: {_problem(exc)} (skipped)", file=sys.stderr)
            continue
        # Lone surrogates survive JSON escapes ("\ud800"); they are not text and would break output.
        text = item.text.encode("utf-8", "replace").decode("utf-8")
        verdict = filt.moderate(str(item.id), author_key(item), text, item.created_at)
        if item.answered:
            filt.mark_answered(str(item.id))
        out: dict = {"id": item.id, "decision": verdict.decision, "reasons": verdict.reasons}
        if verdict.spans:
            out["spans"] = [{"start": s.start, "end": s.end, "text": s.text, "reason": s.reason} for s in verdict.spans]
        if verdict.repeat_of is not None:
            out["repeat_of"] = verdict.repeat_of
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    if bad:
        print(f"otklik moderate: {bad} malformed line(s) skipped", file=sys.stderr)
    return 1 if bad else 0
