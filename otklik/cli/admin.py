"""`otklik users add|deactivate|unlock|revoke|recovery-codes|password`, `otklik audit list` and
`otklik sources check`.

These run on the server by whoever holds the database (the operator); they are audited as
`shell:<operating-system user>`. Staff log in with `otklik login` (otklik/cli/login.py)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from datetime import UTC, date, datetime, timedelta

from otklik.exceptions import InvalidTransition, NotFound
from otklik.settings import load_settings
from storage.db import Database

ROLES = ("curator", "executor", "approver", "head", "admin")


def register(sub: argparse._SubParsersAction) -> None:
    users = sub.add_parser("users", help="API users").add_subparsers(dest="users_command", required=True)
    p = users.add_parser("add", help="create a user; prints the password and, for two-factor roles, the TOTP URI "
                         "and recovery codes (shown once)")
    p.add_argument("login")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--department", help="executor's department id (as in the router's executors table)")
    p.set_defaults(func=cmd_user_add)
    for name, text in (("deactivate", "deactivate a user and end all their sessions"),
                       ("unlock", "lift the login lockouts of a user (after too many failed attempts)"),
                       ("revoke", "end all sessions of a user"),
                       ("recovery-codes", "issue new recovery codes (the old ones stop working); shown once"),
                       ("password", "set a new password for a user (read from stdin); ends their sessions")):
        p = users.add_parser(name, help=text)
        p.add_argument("login")
        p.set_defaults(func=cmd_user_action, action=name)

    p = users.add_parser("dismiss", help="record a dismissal: access ends, the curator gets the notice (000 §9)")
    p.add_argument("login")
    p.add_argument("--on", required=True, type=date.fromisoformat, help="the dismissal order's date (YYYY-MM-DD)")
    p.set_defaults(func=cmd_user_dismiss)

    audit = sub.add_parser("audit", help="the audit log").add_subparsers(dest="audit_command", required=True)
    p = audit.add_parser("list", help="audit entries, newest first, as JSON lines")
    p.add_argument("--since", help="ISO 8601 time, or a duration such as 24h, 7d")
    p.add_argument("--entity", help="user, case, outbox, …")
    p.add_argument("--actor", help="the acting login")
    p.add_argument("--limit", type=int, default=200)
    p.set_defaults(func=cmd_audit_list)

    sources = sub.add_parser("sources", help="configured sources").add_subparsers(dest="sources_command",
                                                                                 required=True)
    p = sources.add_parser("check", help="verify each source's token and permissions")
    p.set_defaults(func=cmd_sources_check)


def _db() -> Database:
    return Database.connect(load_settings().database_url)


def operator() -> str:
    try:
        return f"shell:{getpass.getuser()}"
    except (KeyError, OSError):
        return "shell:unknown"


def _operator_actor():
    """The operator at the server's shell acts as an admin (they hold the database itself)."""
    from otklik.actor import Actor

    return Actor(login=operator(), role="admin", via="cli")


def cmd_user_add(args: argparse.Namespace) -> int:
    from otklik import services
    from otklik.accounts.totp import provisioning_uri
    from otklik.services import users

    db = _db()
    try:
        made = services.run(db, lambda s: users.add(s, _operator_actor(), args.login, args.role,
                                                    department=args.department))
    except (InvalidTransition, NotFound) as exc:
        print(f"otklik: {exc}", file=sys.stderr)
        return 2
    finally:
        db.dispose()
    print(f"пользователь {args.login} ({args.role}) создан; пароль: {made.password}")
    if made.totp_secret:
        print("нужен второй фактор: добавьте в приложение-аутентификатор:")
        print(provisioning_uri(made.totp_secret, args.login))
        print("коды восстановления (каждый действует один раз вместо кода из приложения; показаны только сейчас):")
        print("  " + "  ".join(made.recovery_codes))
    return 0


def cmd_user_dismiss(args: argparse.Namespace) -> int:
    from otklik.services import staff

    settings = load_settings()
    with Database.connect(settings.database_url).session() as s:
        out = staff.dismiss(s, operator(), args.login, dismissed_on=args.on, profile=settings.profile)
    print(f"{args.login}: увольнение записано, куратор уведомлён"
          + (f" (срок уведомления — до {out['notice_by']}{', пропущен' if out['late'] else ''})"
             if out["notice_by"] else ""), file=sys.stderr)
    return 0


def cmd_user_action(args: argparse.Namespace) -> int:
    from otklik.api import auth

    if args.action == "password":
        password = (sys.stdin.readline() if not sys.stdin.isatty() else getpass.getpass("Новый пароль: "))
        password = password.rstrip("\n")
    from otklik.services import users

    me = _operator_actor()
    with _db().session() as s:
        if args.action == "deactivate":
            n = users.deactivate(s, me, args.login)
            print(f"{args.login} отключён; завершено сессий: {n}", file=sys.stderr)
        elif args.action == "unlock":
            users.unlock(s, me, args.login)
            print(f"блокировки входа для {args.login} сняты", file=sys.stderr)
        elif args.action == "revoke":
            n = users.revoke_sessions(s, me, args.login)
            print(f"завершено сессий {args.login}: {n}", file=sys.stderr)
        elif args.action == "recovery-codes":
            codes = users.recovery_codes(s, me, args.login)
            print("новые коды восстановления (показаны только сейчас; прежние больше не действуют):")
            print("  " + "  ".join(codes))
        elif args.action == "password":
            try:
                auth.set_password(s, args.login, password, by=operator())
            except auth.PasswordRejected as exc:
                print(f"otklik: пароль не подходит: {exc}", file=sys.stderr)
                return 2
            print(f"пароль {args.login} изменён; его сессии завершены", file=sys.stderr)
    return 0


def parse_since(value: str | None, now: datetime | None = None) -> datetime | None:
    if not value:
        return None
    now = now or datetime.now(UTC)
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if value[-1:] in units and value[:-1].isdigit():
        return now - timedelta(**{units[value[-1]]: int(value[:-1])})
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"--since {value!r}: expected ISO 8601 or a duration like 24h, 7d") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def cmd_audit_list(args: argparse.Namespace) -> int:
    from otklik.api import auth

    try:
        since = parse_since(args.since)
    except ValueError as exc:
        print(f"otklik: {exc}", file=sys.stderr)
        return 2
    with _db().session() as s:
        rows = auth.audit_log(s, operator(), entity=args.entity, actor=args.actor, since=since, limit=args.limit)
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))
    return 0


def cmd_sources_check(args: argparse.Namespace) -> int:
    """Per source: its options, its secrets (required and optional) and what the platform says.
    Exit 1 only when something required is missing or refused."""
    from otklik.sourcecheck import check_source

    settings = load_settings()
    if not settings.sources:
        print("no sources configured ([[sources]] in otklik.toml)", file=sys.stderr)
        return 1

    async def check_all() -> int:
        failed = 0
        for src in settings.sources:
            report = await check_source(settings, src)
            failed += report.failed
            print(report.headline())
            for line in report.lines:
                print(f"  {line}")
        return 1 if failed else 0

    return asyncio.run(check_all())
