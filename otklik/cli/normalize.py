"""`otklik normalize --platform P FILE`: print the normalized messages of any payload as JSONL.
An error payload exits 3 and prints {"error": "auth_failed|rate_limited|transient|fatal", ...}."""

from __future__ import annotations

import argparse
import json
import sys

from connectors.errors import ConnectorError
from connectors.registry import CONNECTORS, connector_class


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("normalize", help="print the normalized messages of a platform payload (JSONL)")
    p.add_argument("--platform", required=True, choices=sorted(CONNECTORS))
    p.add_argument("file", help="a JSON payload file, or - for standard input")
    p.set_defaults(func=cmd_normalize)


def cmd_normalize(args: argparse.Namespace) -> int:
    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else open(args.file, "rb").read()
    except OSError as exc:
        print(json.dumps({"error": "fatal", "message": f"cannot read {args.file}: {exc.strerror}"}))
        return 2
    try:
        payload = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        print(json.dumps({"error": "fatal", "message": f"not UTF-8 at byte {exc.start}"}))
        return 3
    except json.JSONDecodeError as exc:
        print(json.dumps({"error": "fatal", "message": f"not JSON: {exc.msg} at line {exc.lineno}"}))
        return 3
    try:
        messages = connector_class(args.platform).parse(payload, source=f"{args.platform}:file")
    except ConnectorError as exc:
        print(json.dumps(exc.as_dict(), ensure_ascii=False))
        return 3
    for m in messages:
        print(m.model_dump_json(exclude={"raw"}))
    return 0
