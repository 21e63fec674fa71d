"""`otklik report --from DATE --to DATE [--department D] [--source S] --format F --out PATH`: a
report over the municipality's dates, in the scope of the user `otklik login` stored (an executor
gets its department's); `otklik users email LOGIN ADDRESS`: where a head's scheduled reports go."""

from __future__ import annotations

import argparse
from pathlib import Path

from otklik.cli.cases import _identity, _with
from otklik.cli.directory import _run
from otklik.exceptions import OtklikError
from otklik.services import users
from otklik.settings import load_settings
from reports.period import parse_date
from reports.produce import FORMATS, render, report


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="a report over a period: timeliness, quality, outcomes, dynamics, top, "
                       "moderation (json, csv, xlsx or html)")
    p.add_argument("--from", dest="first", required=True, help="first day, YYYY-MM-DD (the municipality's date)")
    p.add_argument("--to", dest="last", required=True, help="last day, YYYY-MM-DD, inclusive")
    p.add_argument("--department", help="only the cases this department had")
    p.add_argument("--source", help="only the messages of this source")
    p.add_argument("--format", choices=tuple(FORMATS), default="xlsx")
    p.add_argument("--out", required=True, type=Path, help="the file to write ('-' for standard output)")
    _identity(p)
    p.set_defaults(func=cmd_report)

    group = sub.choices["users"]
    acts = next(a for a in group._actions if isinstance(a, argparse._SubParsersAction))
    p = acts.add_parser("email", help="the e-mail address scheduled reports go to (heads); '-' clears it")
    p.add_argument("login")
    p.add_argument("address")
    p.set_defaults(func=cmd_email)


def cmd_report(args: argparse.Namespace) -> int:
    first, last = parse_date(args.first, "--from"), parse_date(args.last, "--to")
    profile = load_settings().profile
    rep = _with(args, lambda s, actor: report(s, actor, profile, first, last, department=args.department,
                                              source=args.source))
    data = render(rep, args.format)
    if str(args.out) == "-":
        import sys

        sys.stdout.buffer.write(data)
        return 0
    try:
        args.out.write_bytes(data)
    except OSError as exc:
        raise OtklikError(f"не удалось записать {args.out}: {exc.strerror or exc}") from None
    print(f"отчёт за {first:%d.%m.%Y}–{last:%d.%m.%Y} ({rep['meta']['cases']} случаев) записан в {args.out}")
    return 0


def cmd_email(args: argparse.Namespace) -> int:
    address = None if args.address == "-" else args.address
    set_to = _run(lambda s, actor: users.set_email(s, actor, args.login, address))
    print(f"{args.login}: адрес для отчётов {'удалён' if set_to is None else set_to}")
    return 0
