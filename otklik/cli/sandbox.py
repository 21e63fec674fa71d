"""`otklik sandbox`: the platform emulators standalone, to explore with curl."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

EXAMPLES = """
Try:
  curl -s -X POST {tg}/_sandbox/inject -H 'content-type: application/json' -d '{{"text": "Нет света на улице Ленина"}}'
  curl -s '{tg}/bot7000000001:AAH-demo-token-for-the-emulator-only/getUpdates'
  curl -s {tg}/_sandbox/replies
  curl -s -X POST {tg}/_sandbox/faults -H 'content-type: application/json' -d '{{"kind": "429", "retry_after": 3}}'
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sandbox", help="run the platform emulators on 127.0.0.1 until Ctrl-C")
    p.add_argument("--only", help="comma-separated platforms (default: all available)")
    p.add_argument("--port-base", type=int, help="first port (default: 8701…)")
    p.set_defaults(func=cmd_sandbox)


def cmd_sandbox(args: argparse.Namespace) -> int:
    from sandbox.server import available, run_all

    names = args.only.split(",") if args.only else available()
    unknown = set(names) - set(available())
    if unknown:
        print(f"otklik: no emulator for {', '.join(sorted(unknown))}; available: {', '.join(available())}")
        return 2
    urls: dict[str, str] = {}

    def announce(line: str) -> None:
        print(line, flush=True)
        name, url = line.split()
        urls[name] = url
        if name == "telegram":
            print(EXAMPLES.format(tg=url), flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_all(names, args.port_base, announce=announce))
    return 0
