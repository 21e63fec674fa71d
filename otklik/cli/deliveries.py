"""`otklik deliveries [--status S]` and `otklik deliveries retry ID`."""

from __future__ import annotations

import argparse
import json

from otklik.settings import load_settings
from storage import audit, outbox
from storage.db import Database


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("deliveries", help="list pending, failed and parked deliveries; retry one")
    p.add_argument("--status", action="append",
                   help="filter (pending, enqueued, sending, posted, failed, parked, uncertain); repeatable")
    p.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    p.set_defaults(func=cmd_list)
    sub2 = p.add_subparsers(dest="deliveries_command")
    r = sub2.add_parser("retry", help="post a failed, parked or uncertain delivery again")
    r.add_argument("id")
    r.add_argument("--actor", default="cli")
    r.set_defaults(func=cmd_retry)
    d = sub2.add_parser("redirect", help="send a failed reply as a private message to the author instead")
    d.add_argument("id")
    d.add_argument("--actor", default="cli")
    d.set_defaults(func=cmd_redirect)


def cmd_list(args: argparse.Namespace) -> int:
    db = Database.connect(load_settings().database_url)
    statuses = tuple(args.status) if args.status else ("pending", "enqueued", "sending", "failed", "parked",
                                                         "uncertain")
    with db.session() as s:
        rows = [outbox.as_dict(r) for r in outbox.listing(s, statuses)]
    for r in rows:
        if args.json:
            print(json.dumps(r, ensure_ascii=False))
        else:
            print(f"{r['id']}  {r['status']:<9} {r['source']:<20} attempts={r['attempts']}  "
                  f"{(r['last_error'] or '')[:80]}")
    if not rows and not args.json:
        print("no deliveries in those states")
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    db = Database.connect(load_settings().database_url)
    with db.session() as s:
        row = outbox.retry(s, args.id)
        audit.append(s, actor=args.actor, action="delivery_retry", entity="outbox", entity_id=row.id)
    print(f"{args.id}: back to pending; the relay enqueues it within a second")
    return 0


def cmd_redirect(args: argparse.Namespace) -> int:
    db = Database.connect(load_settings().database_url)
    with db.session() as s:
        row = outbox.redirect_private(s, args.id)
        audit.append(s, actor=args.actor, action="delivery_redirected", entity="outbox", entity_id=row.id,
                     data={"thread": row.reply["thread"]})
    print(f"{args.id}: redirected to a private message; the relay enqueues it within a second")
    return 0
