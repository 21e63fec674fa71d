"""`otklik normalize --platform P FILE`: print the normalized messages of any payload as JSONL.

Whatever the file holds, the command exits 0 (the messages, one JSON object a line, possibly none)
or 3 with one line `{"error": "auth_failed|rate_limited|transient|fatal|malformed", ...}`: an error
payload of the platform, or a file that is not a payload at all (unreadable, not UTF-8, not JSON,
nested beyond what the parser reads, of a shape the platform does not send). Never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from connectors.errors import ConnectorError
from connectors.parsing import safe_raw
from connectors.registry import CONNECTORS, connector_class

ERROR = 3


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("normalize", help="print the normalized messages of a platform payload (JSONL)")
    p.add_argument("--platform", required=True, choices=sorted(CONNECTORS))
    p.add_argument("file", help="a JSON payload file, or - for standard input")
    p.set_defaults(func=cmd_normalize)


def _error(kind: str, message: str, **extra: Any) -> int:
    print(json.dumps(safe_raw({"error": kind, "message": message, **extra}), ensure_ascii=False))
    return ERROR


def cmd_normalize(args: argparse.Namespace) -> int:
    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else open(args.file, "rb").read()
    except OSError as exc:
        return _error("fatal", f"cannot read {args.file}: {exc.strerror or type(exc).__name__}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return _error("malformed", f"not UTF-8 at byte {exc.start}")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        return _error("malformed", f"not JSON: {exc.msg} at line {exc.lineno}")
    except RecursionError:  # json.loads recurses once per bracket
        return _error("malformed", "not JSON this tool reads: nested too deeply")
    try:
        messages = connector_class(args.platform).parse(payload, source=f"{args.platform}:file")
        lines = [m.model_dump_json(exclude={"raw"}) for m in messages]
    except ConnectorError as exc:
        extra = {k: v for k, v in exc.as_dict().items() if k not in ("error", "message")}
        return _error(exc.kind, str(exc), **extra)
    except Exception as exc:  # noqa: BLE001 - the last guard: a parser bug still answers in JSON
        # Every parser is total (connectors/parsing.py); reaching this is a bug to report, and the
        # answer stays one JSON line without the data.
        return _error("internal", f"{type(exc).__name__} while parsing; please report it")
    for line in lines:
        print(line)
    return 0
