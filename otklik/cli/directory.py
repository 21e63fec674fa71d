"""`otklik departments list|add`, `otklik users substitute|substitutes|unsubstitute|roles`: the
directory an admin runs. Whoever runs these on the server can open the database anyway, so they act
as the admin "operator:<system user>", and each change is audited under that name."""

from __future__ import annotations

import argparse
import getpass
from datetime import date

from otklik import services
from otklik.actor import Actor
from otklik.services import departments, substitutes, users
from otklik.settings import load_settings
from storage.db import Database


def register(sub: argparse._SubParsersAction) -> None:
    deps = sub.add_parser("departments", help="the departments directory").add_subparsers(
        dest="departments_command", required=True)
    p = deps.add_parser("list", help="departments: id (as the router assigns) and name")
    p.set_defaults(func=cmd_departments_list)
    p = deps.add_parser("add", help="add a department")
    p.add_argument("id", help="lowercase latin id, as in the router's executors table")
    p.add_argument("name", help="the department's name in Russian")
    p.set_defaults(func=cmd_departments_add)

    # `otklik users` is otklik.cli.admin's group (registered first); these join it.
    group = sub.choices["users"]
    acts = next(a for a in group._actions if isinstance(a, argparse._SubParsersAction))
    p = acts.add_parser("substitute", help="ABSENT is replaced by SUBSTITUTE from DATE to DATE (inclusive)")
    p.add_argument("absent")
    p.add_argument("substitute")
    p.add_argument("--from", dest="starts_on", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    p.add_argument("--to", dest="ends_on", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    p.add_argument("--reason", choices=substitutes.REASONS, default="leave")
    p.set_defaults(func=cmd_substitute)
    p = acts.add_parser("substitutes", help="list substitutions")
    p.set_defaults(func=cmd_substitutes)
    p = acts.add_parser("unsubstitute", help="remove a substitution by its id")
    p.add_argument("id", type=int)
    p.set_defaults(func=cmd_unsubstitute)
    p = acts.add_parser("roles", help="the roles a user holds besides its primary one (e.g. admin + approver)")
    p.add_argument("login")
    p.add_argument("roles", nargs="*", choices=("curator", "executor", "approver", "head", "admin"))
    p.set_defaults(func=cmd_roles)


def _operator() -> Actor:
    return Actor(login=f"operator:{getpass.getuser()}", role="admin", via="cli")


def _run(fn):
    db = Database.connect(load_settings().database_url)
    try:
        return services.run(db, lambda s: fn(s, _operator()))
    finally:
        db.dispose()


def cmd_departments_list(args: argparse.Namespace) -> int:
    for d in _run(departments.listing):
        print(f"{d['id']:<24} {d['name']}")
    return 0


def cmd_departments_add(args: argparse.Namespace) -> int:
    d = _run(lambda s, actor: departments.add(s, actor, args.id, args.name))
    print(f"отдел {d['id']} добавлен: {d['name']}")
    return 0


def cmd_substitute(args: argparse.Namespace) -> int:
    d = _run(lambda s, actor: substitutes.add(s, actor, args.absent, args.substitute, args.starts_on,
                                              args.ends_on, args.reason))
    print(f"замещение #{d['id']}: {d['substitute']} замещает {d['absent']} с {d['from']} по {d['to']}")
    return 0


def cmd_substitutes(args: argparse.Namespace) -> int:
    for d in _run(substitutes.listing):
        print(f"#{d['id']:<5} {d['absent']:<20} → {d['substitute']:<20} {d['from']} – {d['to']} ({d['reason']})")
    return 0


def cmd_unsubstitute(args: argparse.Namespace) -> int:
    _run(lambda s, actor: substitutes.remove(s, actor, args.id))
    print(f"замещение #{args.id} удалено")
    return 0


def cmd_roles(args: argparse.Namespace) -> int:
    held = _run(lambda s, actor: users.set_roles(s, actor, args.login, args.roles))
    print(f"{args.login}: роли {', '.join(held)}")
    return 0
