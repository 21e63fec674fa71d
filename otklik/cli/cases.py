"""`otklik cases …`: the API's case actions for curators who live in a terminal.

Every action acts as the user of the session `otklik login` stored (or `OTKLIK_TOKEN`), and is
audited under them; `--otp` proves the second factor again on that session first (step-up), as
`POST /api/step-up` does on the API."""

from __future__ import annotations

import argparse
import json
import sys

from sqlalchemy import select

from otklik import cases
from otklik.actor import Actor
from otklik.settings import load_settings
from storage import audit, outbox
from storage.db import Database
from storage.tables import CaseRow, MessageRow


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cases", help="list cases with SLA timers; route, draft, approve, send back")
    acts = p.add_subparsers(dest="cases_command", required=True)
    ls = acts.add_parser("list", help="open cases, nearest deadline first")
    ls.add_argument("--state")
    ls.set_defaults(func=cmd_list)
    show = acts.add_parser("show")
    show.add_argument("id", type=int)
    show.set_defaults(func=cmd_show)
    for name, extra in (("route", "executors"), ("draft", "text"), ("approve", None), ("send-back", "comment"),
                        ("return", "comment"), ("extension", "comment")):
        a = acts.add_parser(name)
        a.add_argument("id", type=int)
        a.add_argument("--otp", help="one-time code: confirms the second factor on the session first (step-up)")
        if extra == "executors":
            a.add_argument("executors", nargs="+")
        elif extra:
            a.add_argument(extra)
        if name == "draft":
            a.add_argument("--kind", choices=("answer", "intermediate", "clarify"), default="answer")
            a.add_argument("--outcome", help="the answer's outcome, where the channel's regulation lists them")
            a.add_argument("--contacted-author", action="store_true",
                           help="the author was contacted (required by some channels before the answer)")
        if name == "extension":
            a.add_argument("--days", type=int, required=True)
        a.set_defaults(func=cmd_act, action=name)


def _db() -> Database:
    return Database.connect(load_settings().database_url)


def cmd_list(args: argparse.Namespace) -> int:
    with _db().session() as s:
        stmt = select(CaseRow).order_by(CaseRow.answer_by.is_(None), CaseRow.answer_by)
        if args.state:
            stmt = stmt.where(CaseRow.state == args.state)
        for row in s.execute(stmt.limit(500)).scalars():
            d = cases.as_dict(row)
            print(f"#{d['id']:<6} {d['state']:<17} {d['importance']:<6} due {d['answer_by'] or '-':<32} "
                  f"{d['topic_group'] or '-'} → {', '.join(d['executors']) or '(not routed)'}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with _db().session() as s:
        row = cases.get(s, args.id)
        msg = s.get(MessageRow, row.message_id)
        out = {**cases.as_dict(row), "text": msg.text,
               "audit": [{"at": a.at.isoformat(), "actor": a.actor, "action": a.action}
                         for a in audit.trail(s, "case", row.id)]}
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0


def _actor(args: argparse.Namespace, session) -> Actor:
    """The acting user: the stored CLI session (`otklik login`), resolved like the API's token."""
    from otklik.cli.login import current_actor

    return current_actor(session, getattr(args, "otp", None))


def cmd_act(args: argparse.Namespace) -> int:
    with _db().session() as s:
        user = _actor(args, s)
        if args.action == "route":
            cases.route(s, args.id, actor=user.login, executors=args.executors, role=user.role)
        elif args.action == "draft":
            cases.submit_draft(s, args.id, actor=user.login, text=args.text, kind=args.kind, role=user.role,
                               outcome=args.outcome, contacted_author=args.contacted_author)
        elif args.action == "approve":
            row = cases.approve(s, args.id, actor=user.login, role=user.role)
            print(f"approved; delivery {row.id} queued", file=sys.stderr)
            print(json.dumps(outbox.as_dict(row), ensure_ascii=False))
            return 0
        elif args.action == "send-back":
            cases.send_back(s, args.id, actor=user.login, role=user.role, comment=args.comment)
        elif args.action == "return":
            cases.return_case(s, args.id, actor=user.login, department=user.department, comment=args.comment,
                              role=user.role)
        elif args.action == "extension":
            cases.request_extension(s, args.id, actor=user.login, days=args.days, comment=args.comment,
                                    role=user.role)
        print(json.dumps(cases.as_dict(cases.get(s, args.id)), ensure_ascii=False))
    return 0
