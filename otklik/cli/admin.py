"""`otklik users add|token` and `otklik sources check`."""

from __future__ import annotations

import argparse
import asyncio
import sys

from sqlalchemy import select

from otklik.settings import load_settings
from storage.db import Database
from storage.tables import UserRow


def register(sub: argparse._SubParsersAction) -> None:
    users = sub.add_parser("users", help="API users").add_subparsers(dest="users_command", required=True)
    p = users.add_parser("add", help="create a user; prints the password and, for approvers/admins, the TOTP URI")
    p.add_argument("login")
    p.add_argument("--role", required=True, choices=("curator", "executor", "approver", "head", "admin"))
    p.add_argument("--department", help="executor's department id (as in the router's executors table)")
    p.set_defaults(func=cmd_user_add)
    p = users.add_parser("token", help="issue a new API token for a user (replaces the old one)")
    p.add_argument("login")
    p.set_defaults(func=cmd_user_token)

    sources = sub.add_parser("sources", help="configured sources").add_subparsers(dest="sources_command",
                                                                                 required=True)
    p = sources.add_parser("check", help="verify each source's token and permissions")
    p.set_defaults(func=cmd_sources_check)


def cmd_user_add(args: argparse.Namespace) -> int:
    import pyotp

    from otklik.api import auth

    db = Database.connect(load_settings().database_url)
    with db.session() as s:
        _, password, totp = auth.create_user(s, args.login, args.role, department=args.department)
    print(f"user {args.login} ({args.role}) created; password: {password}")
    if totp:
        print("two-factor required: add this to an authenticator app:")
        print(pyotp.TOTP(totp).provisioning_uri(name=args.login, issuer_name="otklik"))
    return 0


def cmd_user_token(args: argparse.Namespace) -> int:
    from otklik.api import auth

    db = Database.connect(load_settings().database_url)
    with db.session() as s:
        user = s.execute(select(UserRow).where(UserRow.login == args.login)).scalar_one_or_none()
        if user is None:
            print(f"otklik: no user {args.login}", file=sys.stderr)
            return 2
        print(auth.issue_token(s, user))
    return 0


def cmd_sources_check(args: argparse.Namespace) -> int:
    from connectors.errors import ConnectorError
    from connectors.registry import connector_class

    settings = load_settings()
    if not settings.sources:
        print("no sources configured", file=sys.stderr)
        return 1

    async def check_all() -> int:
        bad = 0
        for src in settings.sources:
            connector = connector_class(src.platform.value)(settings.resolve_source(src))
            try:
                problems = await connector.check()
            except ConnectorError as exc:
                problems = [f"{exc.kind}: {exc}"]
            finally:
                await connector.aclose()
            bad += bool(problems)
            print(f"{src.name} ({src.platform.value}): " + ("OK" if not problems else "; ".join(problems)))
        return 1 if bad else 0

    return asyncio.run(check_all())
