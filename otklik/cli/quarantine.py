"""`otklik quarantine list [--source S] [--all] [--json]`, `otklik quarantine show ID`,
`otklik quarantine retry ID`: the items set aside so that they could not block the others.

Whoever can run the CLI on the server reads the database anyway, so the CLI acts as an admin;
`--actor` names the person in the audit trail.
"""

from __future__ import annotations

import argparse
import json

from otklik.actor import Actor
from otklik.settings import load_settings
from storage import quarantine
from storage.db import Database

STAGES_RU = {"ingest": "приём", "pipeline": "обработка", "event": "событие площадки"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("quarantine", help="items set aside (unreadable, unstorable or failing); show, retry")
    sub2 = p.add_subparsers(dest="quarantine_command", required=True, metavar="ACTION")
    ls = sub2.add_parser("list", help="open items, newest first")
    ls.add_argument("--source", help="only this source")
    ls.add_argument("--all", action="store_true", help="resolved items too")
    ls.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    ls.set_defaults(func=cmd_list)
    show = sub2.add_parser("show", help="one item with its (sanitised) payload, as JSON")
    show.add_argument("id", type=int)
    show.set_defaults(func=cmd_show)
    retry = sub2.add_parser("retry", help="store the item again, or give it back to the pipeline")
    retry.add_argument("id", type=int)
    retry.add_argument("--actor", default="cli", help="who retries, for the audit trail")
    retry.set_defaults(func=cmd_retry)


def _actor(login: str = "cli") -> Actor:
    return Actor(login=login, role="admin", via="cli")


def _db() -> Database:
    return Database.connect(load_settings().database_url)


def cmd_list(args: argparse.Namespace) -> int:
    with _db().session() as s:
        rows = [quarantine.as_dict(r) for r in quarantine.listing(s, _actor(), source=args.source,
                                                                   include_resolved=args.all)]
    for r in rows:
        if args.json:
            print(json.dumps(r, ensure_ascii=False))
            continue
        state = f"решён {r['resolved_by']}" if r["resolved_at"] else "открыт"
        print(f"#{r['id']:<6} {r['created_at'][:19]}  {r['source']:<16} {STAGES_RU.get(r['stage'], r['stage']):<17} "
              f"попыток {r['attempts']}  {state:<12} {r['reason'][:80]}")
    if not rows and not args.json:
        print("карантин пуст" if args.all else "открытых записей в карантине нет")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with _db().session() as s:
        item = quarantine.as_dict(quarantine.get(s, _actor(), args.id), with_raw=True)
    print(json.dumps(item, ensure_ascii=False, indent=2))
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    with _db().session() as s:
        outcome = quarantine.retry(s, _actor(args.actor), args.id)
    messages = {"stored": "сохранено заново", "requeued for the pipeline": "возвращено в обработку"}
    if outcome in messages:
        print(f"#{args.id}: {messages[outcome]}")
        return 0
    print(f"#{args.id}: повторное сохранение не удалось ({outcome}); запись осталась в карантине")
    return 1
