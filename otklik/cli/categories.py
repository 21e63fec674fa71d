"""`otklik categories propose [--since DATE] [--until DATE] [--json]`: new topics proposed inside
topic groups from the messages the router was unsure of (regulation 004 §14.7).

The CLI runs on the server, where the database is readable anyway; it prints terms and case ids,
never texts.
"""

from __future__ import annotations

import argparse
import json
from datetime import date

from otklik.exceptions import OtklikError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("categories", help="proposals of new topics inside topic groups")
    sub2 = p.add_subparsers(dest="categories_command", required=True, metavar="ACTION")
    pr = sub2.add_parser("propose", help="cluster the uncertain cases of each topic group")
    pr.add_argument("--since", help="messages from this date (YYYY-MM-DD)")
    pr.add_argument("--until", help="messages before this date (YYYY-MM-DD)")
    pr.add_argument("--json", action="store_true", help="JSON lines instead of text")
    pr.set_defaults(func=cmd_propose)


def _date(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise OtklikError(f"{name} {value!r} is not a date (YYYY-MM-DD)") from None


def cmd_propose(args: argparse.Namespace) -> int:
    from otklik.settings import load_settings
    from reports.categories import propose
    from storage.db import Database

    since, until = _date(args.since, "--since"), _date(args.until, "--until")
    with Database.connect(load_settings().database_url).session() as s:
        proposals = propose(s, since, until)
    for p in proposals:
        if args.json:
            print(json.dumps(p.as_dict(), ensure_ascii=False))
        else:
            ids = ", ".join(f"#{i}" for i in p.example_case_ids)
            print(f"{p.topic_group}: {p.size} обращ.; термины: {', '.join(p.top_terms)}; примеры: {ids}")
    if not proposals and not args.json:
        print("предложений новых тем нет")
    return 0
