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
import codecs
import gc
import io
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

from pydantic import BaseModel, TypeAdapter, ValidationError

if TYPE_CHECKING:
    from moderation.verdict import Verdict


class ModerateInput(BaseModel):
    id: str | int
    author: str | int
    text: str
    created_at: datetime | None = None
    source: str | None = None
    answered: bool = False


def author_key(item: ModerateInput | Item) -> str:
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


class Item(NamedTuple):
    """An input line's fields, as ModerateInput has them, without a pydantic object per line."""

    id: str | int
    author: str | int
    text: str
    created_at: datetime | None
    source: str | None
    answered: bool


_DATETIME = TypeAdapter(datetime)  # created_at parsed exactly as ModerateInput parses it


def _plain_item(line: str) -> Item | None:
    """The common line (a JSON object, every field of the expected type) read with json.loads and
    type checks, several times cheaper than pydantic; None for anything else, which `parse_line`
    then accepts, converts or rejects with its own words."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if type(data) is not dict:
        return None
    ident, author, text = data.get("id"), data.get("author"), data.get("text")
    source, answered, created_at = data.get("source"), data.get("answered", False), data.get("created_at")
    # Exact types: pydantic converts what is close (2.0 to 2, "true" to True); such lines go to it.
    if (
        type(text) is not str
        or type(ident) not in (str, int)
        or type(author) not in (str, int)
        or type(answered) is not bool
        or (source is not None and type(source) is not str)
    ):
        return None
    if created_at is not None:
        if type(created_at) is not str:
            return None
        try:
            created_at = _DATETIME.validate_python(created_at)
        except ValidationError:
            return None
    return Item(ident, author, text, created_at, source, answered)


def read_item(line: str) -> Item:
    """One input line (with its line end, as errors count columns to it); raises ValidationError
    or ValueError with what is wrong."""
    item = _plain_item(line)
    if item is not None:
        return item
    m = parse_line(line)
    return Item(m.id, m.author, m.text, m.created_at, m.source, m.answered)


CHUNK = 1 << 16


def read_batches(stream: BinaryIO) -> Iterator[list[str]]:
    r"""The input's lines in batches of what has arrived (a pipe's writer that pauses gets its
    answers before it writes more). Decoded as `io.TextIOWrapper` decodes them: UTF-8 with
    undecodable bytes replaced, "\r\n" and "\r" read as "\n"; every line but an unterminated
    last one keeps its "\n"."""
    decoder = io.IncrementalNewlineDecoder(codecs.getincrementaldecoder("utf-8")("replace"), translate=True)
    rest = ""
    while True:
        chunk = stream.read1(CHUNK)
        lines = (rest + decoder.decode(chunk, final=not chunk)).split("\n")
        rest = lines.pop()
        if not chunk:
            yield [line + "\n" for line in lines] + ([rest] if rest else [])
            return
        yield [line + "\n" for line in lines]


_STRING = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) writes a string with
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


def verdict_line(ident: str | int, verdict: Verdict) -> str:
    if verdict.decision == "accept" and not verdict.reasons and not verdict.spans and verdict.repeat_of is None:
        # Most messages: the line json.dumps would write, without building and encoding a dict.
        return f'{{"id": {ident if type(ident) is int else _STRING(ident)}, "decision": "accept", "reasons": []}}\n'
    out: dict = {"id": ident, "decision": verdict.decision, "reasons": verdict.reasons}
    if verdict.spans:
        out["spans"] = [{"start": s.start, "end": s.end, "text": s.text, "reason": s.reason} for s in verdict.spans]
    if verdict.repeat_of is not None:
        out["repeat_of"] = verdict.repeat_of
    return _ENCODE(out) + "\n"


def _write(lines: list[str]) -> None:
    try:
        sys.stdout.write("".join(lines))
        lines = []
    except UnicodeEncodeError:
        # An id with a lone surrogate ("\ud800") cannot be written: line by line (below), the lines
        # before it are written and the error stops the run there, as it did before batching.
        pass
    for line in lines:
        sys.stdout.write(line)
    sys.stdout.flush()


def cmd_moderate(args: argparse.Namespace) -> int:
    from moderation.filter import ModerationFilter
    from moderation.profile import load_profile

    filt = ModerationFilter(load_profile(args.profile))
    # What is loaded so far (modules, the lexicon, compiled patterns) lives as long as the run:
    # frozen, it is not walked again by every full pass of the cyclic garbage collector.
    gc.freeze()
    bad = n = 0
    for batch in read_batches(sys.stdin.buffer):
        out: list[str] = []
        for line in batch:
            n += 1
            if not line.strip():
                continue
            try:
                item = read_item(line)
            except (ValidationError, ValueError) as exc:
                bad += 1
                print(f"otklik moderate: line {n}: {_problem(exc)} (skipped)", file=sys.stderr)
                continue
            text = item.text
            if "\\u" in line:
                # Lone surrogates survive JSON escapes ("\ud800"); they are not text and would break output.
                text = text.encode("utf-8", "replace").decode("utf-8")
            msg_id = str(item.id)
            verdict = filt.moderate(msg_id, author_key(item), text, item.created_at)
            if item.answered:
                filt.mark_answered(msg_id)
            out.append(verdict_line(item.id, verdict))
        _write(out)
    if bad:
        print(f"otklik moderate: {bad} malformed line(s) skipped", file=sys.stderr)
    return 1 if bad else 0
