"""`otklik cases …`: the API's case actions for curators who live in a terminal.

Every command acts as the user of the session `otklik login` stored (or `OTKLIK_TOKEN`), and is
audited under them; `--otp` proves the second factor again on that session first (step-up), as
`POST /api/step-up` does on the API. The same service functions as the API decide what the user may
see and do: an executor lists and acts on its department's cases only."""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from otklik import services
from otklik.actor import Actor
from otklik.services import cases
from otklik.settings import load_settings
from storage import outbox
from storage.db import Database


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cases", help="list cases with SLA timers; route, draft, approve, send back")
    acts = p.add_subparsers(dest="cases_command", required=True)
    ls = acts.add_parser("list", help="open cases in your scope, nearest deadline first")
    ls.add_argument("--state")
    ls.add_argument("--executor", help="only the cases this department holds now")
    _identity(ls)
    ls.set_defaults(func=cmd_list)
    show = acts.add_parser("show")
    show.add_argument("id", type=int)
    _identity(show)
    show.set_defaults(func=cmd_show)
    for name, extra in (("route", "executors"), ("draft", "text"), ("approve", None), ("send-back", "comment"),
                        ("return", "comment"), ("extension", "comment")):
        a = acts.add_parser(name)
        a.add_argument("id", type=int)
        _identity(a)
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
    addr = acts.add_parser("reply-address", help="answer the case to the citizen's e-mail (004 §2.4, or on request)")
    addr.add_argument("id", type=int)
    addr.add_argument("address", nargs="?", help="the citizen's e-mail address; omit with --clear")
    addr.add_argument("--clear", action="store_true", help="answer where the citizen wrote again")
    _identity(addr)
    addr.set_defaults(func=cmd_reply_address)
    from otklik.cli import case_actions

    case_actions.register(acts, _identity)
    att = acts.add_parser("attach", help="add a photo, video or document to the case's answer")
    att.add_argument("id", type=int)
    att.add_argument("file", help="path of the file")
    att.add_argument("--keep-location", action="store_true",
                     help="keep the photo's EXIF location (removed by default)")
    _identity(att)
    att.set_defaults(func=cmd_attach)


def _identity(p: argparse.ArgumentParser) -> None:
    p.add_argument("--otp", help="one-time code: confirms the second factor on the session first (step-up)")


def _db() -> Database:
    return Database.connect(load_settings().database_url)


def _actor(args: argparse.Namespace, session: Session) -> Actor:
    """The acting user: the stored CLI session (`otklik login`), resolved like the API's token."""
    from otklik.cli.login import current_actor

    return current_actor(session, getattr(args, "otp", None))


def cmd_list(args: argparse.Namespace) -> int:
    rows = _with(args, lambda s, actor: cases.listing(s, actor, state=args.state, executor=args.executor))
    tz = _zone()
    for d in rows:
        due = _local(d["answer_by"], tz) if d["answer_by"] else "-"
        print(f"#{d['id']:<6} {d['state']:<17} {d['importance']:<6} due {due:<25} "
              f"{d['topic_group'] or '-'} → {', '.join(d['executors']) or '(not routed)'}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    def go(s, actor):
        out = cases.show(s, actor, args.id)
        out["audit"] = cases.audit_trail(s, actor, args.id)
        return out
    print(json.dumps(local_times(_with(args, go), _zone()), ensure_ascii=False, indent=2, default=_plain))
    return 0


def cmd_act(args: argparse.Namespace) -> int:
    def go(s, actor):
        if args.action == "route":
            cases.route(s, actor, args.id, executors=args.executors)
        elif args.action == "draft":
            cases.submit_draft(s, actor, args.id, text=args.text, kind=args.kind, outcome=args.outcome,
                               contacted_author=args.contacted_author)
        elif args.action == "approve":
            return {"delivery": outbox.as_dict(cases.approve(s, actor, args.id))}
        elif args.action == "send-back":
            cases.send_back(s, actor, args.id, comment=args.comment)
        elif args.action == "return":
            cases.return_case(s, actor, args.id, comment=args.comment)
        elif args.action == "extension":
            cases.request_extension(s, actor, args.id, days=args.days, comment=args.comment)
        return cases.as_dict(cases.get(s, args.id))
    out = _with(args, go)
    if "delivery" in out:
        print(f"approved; delivery {out['delivery']['id']} queued", file=sys.stderr)
        out = out["delivery"]
    print(json.dumps(out, ensure_ascii=False))
    return 0


def cmd_reply_address(args: argparse.Namespace) -> int:
    if bool(args.address) == bool(args.clear):
        print("укажите адрес e-mail или --clear", file=sys.stderr)
        return 2
    address = None if args.clear else args.address
    row = _with(args, lambda s, actor: {
        "by_email": cases.set_reply_address(s, actor, args.id, address).reply_address is not None})
    if row["by_email"]:
        print(f"обращение #{args.id}: ответ будет отправлен на e-mail заявителя", file=sys.stderr)
    else:
        print(f"обращение #{args.id}: ответ будет опубликован там, где написал заявитель", file=sys.stderr)
    return 0


def cmd_attach(args: argparse.Namespace) -> int:
    from otklik.attachments import checks
    from otklik.services import attachments

    path = Path(args.file)
    try:
        if path.stat().st_size > checks.MAX_UPLOAD:
            print(f"файл больше {checks.MAX_UPLOAD // checks.MB} МБ", file=sys.stderr)
            return 2
        data = path.read_bytes()
    except OSError as exc:
        print(f"не удалось прочитать файл: {exc.strerror or type(exc).__name__}", file=sys.stderr)
        return 2
    try:
        row = _with(args, lambda s, actor: attachments.add(s, actor, args.id, data, path.name,
                                                           keep_location=args.keep_location))
    except checks.Rejected as exc:
        print(f"файл не принят ({exc.status}): {exc}", file=sys.stderr)
        return 2
    print(json.dumps(row, ensure_ascii=False))
    print(f"обращение #{args.id}: файл {row['filename']} добавлен к ответу", file=sys.stderr)
    return 0


def _with(args: argparse.Namespace, fn):
    """Run `fn(session, actor)` in one unit of work as the acting user (refusals audited, as on the API)."""
    db = _db()
    try:
        return services.run(db, lambda s: fn(s, _actor(args, s)))
    finally:
        db.dispose()


def _zone() -> ZoneInfo:
    """The municipality's time zone (its regulation profile's calendar): people read local times."""
    from regulation.profiles import load_profile

    return load_profile(load_settings().profile).calendar.tz


def _local(value: str, tz: ZoneInfo) -> str:
    """An ISO 8601 time from the database (UTC; naive from SQLite) in `tz`, with its offset."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).isoformat(timespec="seconds")


TIME_KEY = re.compile(r"(^|_)(at|by|until)$")
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


def local_times(value: Any, tz: ZoneInfo, key: str = "", in_deadlines: bool = False) -> Any:
    """Every time in the case's JSON (`…_at`, `…_by`, `…_until`, and all those of the deadlines)
    shown in the municipality's time zone."""
    if isinstance(value, dict):
        return {k: local_times(v, tz, k, in_deadlines or key == "deadlines") for k, v in value.items()}
    if isinstance(value, list):
        return [local_times(v, tz, key, in_deadlines) for v in value]
    if isinstance(value, datetime):
        value = value.isoformat()
    if isinstance(value, str) and (TIME_KEY.search(key) or in_deadlines) and ISO_TIME.match(value):
        return _local(value, tz)
    return value


def _plain(value):
    return value.isoformat() if isinstance(value, datetime) else str(value)
