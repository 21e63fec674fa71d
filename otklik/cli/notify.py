"""`otklik notify list|read|prefs|failed|retry`: a person's notifications from a terminal, as the
logged-in user (`otklik login`), through the same service functions as the API and the console.
Messages for staff are Russian."""

from __future__ import annotations

import argparse
import json

from otklik.services import notifications


def register(sub: argparse._SubParsersAction) -> None:
    from otklik.cli.cases import _identity

    p = sub.add_parser("notify", help="my notifications and how I receive them (channels, quiet hours, digest)")
    acts = p.add_subparsers(dest="notify_command", required=True, metavar="ACTION")
    ls = acts.add_parser("list", help="my notifications, newest first")
    ls.add_argument("--unread", action="store_true")
    ls.add_argument("--limit", type=int, default=30)
    ls.add_argument("--json", action="store_true", help="JSON lines")
    _identity(ls)
    ls.set_defaults(func=cmd_list)
    rd = acts.add_parser("read", help="mark notifications read (the ids given, or all)")
    rd.add_argument("ids", nargs="*", type=int)
    _identity(rd)
    rd.set_defaults(func=cmd_read)
    pr = acts.add_parser("prefs", help="show or change preferences (mine, or --user's for an admin)")
    pr.add_argument("--user", help="another person's login (admins)")
    pr.add_argument("--channels", help="comma-separated: email,telegram,max (the console always keeps them)")
    pr.add_argument("--quiet", metavar="HH:MM-HH:MM", help="quiet hours, local time; 'off' to remove")
    pr.add_argument("--digest", choices=("on", "off"))
    pr.add_argument("--digest-at", metavar="HH:MM")
    _identity(pr)
    pr.set_defaults(func=cmd_prefs)
    fl = acts.add_parser("failed", help="notifications that could not be delivered (admins)")
    _identity(fl)
    fl.set_defaults(func=cmd_failed)
    rt = acts.add_parser("retry", help="send a failed notification again (admins)")
    rt.add_argument("id", type=int)
    _identity(rt)
    rt.set_defaults(func=cmd_retry)


def _changes(args: argparse.Namespace) -> dict:
    from otklik.exceptions import InvalidTransition

    out: dict = {}
    if args.channels is not None:
        out["channels"] = [c.strip() for c in args.channels.split(",") if c.strip()]
    if args.quiet is not None:
        if args.quiet == "off":
            out["quiet_start"] = out["quiet_end"] = None
        else:
            start, sep, end = args.quiet.partition("-")
            if not sep:
                raise InvalidTransition("тихие часы: укажите как ЧЧ:ММ-ЧЧ:ММ (например 22:00-07:00) или off")
            out["quiet_start"], out["quiet_end"] = start.strip(), end.strip()
    if args.digest is not None:
        out["digest"] = args.digest == "on"
    if args.digest_at is not None:
        out["digest_at"] = args.digest_at
    return out


def cmd_prefs(args: argparse.Namespace) -> int:
    from otklik.cli.cases import _with

    changes = _changes(args)
    if changes:
        got = _with(args, lambda s, a: notifications.set_preferences(s, a, args.user, **changes))
    else:
        got = _with(args, lambda s, a: notifications.get_preferences(s, a, args.user))
    quiet = f"{got['quiet_start']}–{got['quiet_end']}" if got["quiet_start"] else "нет"
    print(f"{got['login']}: каналы {', '.join(got['channels'])}; тихие часы: {quiet}; "
          f"сводка: {'в ' + got['digest_at'] if got['digest'] else 'выключена'}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from otklik.cli.cases import _with

    rows = _with(args, lambda s, a: notifications.listing(s, a, unread=args.unread, limit=args.limit))
    for r in rows:
        if args.json:
            print(json.dumps(r, ensure_ascii=False))
            continue
        mark = " " if r["read_at"] else "•"
        copies = ", ".join(f"{c}: {st}" for c, st in r["deliveries"].items())
        print(f"{mark} {r['id']:<6} {r['created_at'][:16]}  {r['subject']}" + (f"  [{copies}]" if copies else ""))
    if not rows and not args.json:
        print("уведомлений нет")
    return 0


def cmd_read(args: argparse.Namespace) -> int:
    from otklik.cli.cases import _with

    n = _with(args, lambda s, a: notifications.mark_read(s, a, args.ids or None))
    print(f"отмечено прочитанными: {n}")
    return 0


def cmd_failed(args: argparse.Namespace) -> int:
    from otklik.cli.cases import _with

    for r in _with(args, lambda s, a: notifications.failed(s, a)):
        print(f"{r['id']:<6} {r['login']:<20} {r['channel']:<8} {r['subject'][:60]}  {r['last_error'] or ''}")
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    from otklik.cli.cases import _with

    got = _with(args, lambda s, a: notifications.retry(s, a, args.id))
    print(f"уведомление {got['id']} ({got['channel']}) снова в очереди на отправку")
    return 0
