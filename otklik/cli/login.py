"""`otklik login`, `otklik logout`, `otklik passwd`: the terminal authenticates like the API.

`otklik login` keeps a session token in a file only its user can read (`$OTKLIK_SESSION_FILE`,
default `~/.config/otklik/session`, mode 0600); `OTKLIK_TOKEN` in the environment wins over the
file (for scripts). Case actions (`otklik cases …`) act as the session's user, audited under them.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from otklik.actor import Actor
from otklik.exceptions import PermissionDenied
from otklik.settings import load_settings
from storage.db import Database

NO_SESSION = "нет действующего входа: выполните `otklik login` (или задайте OTKLIK_TOKEN)"


def session_file() -> Path:
    explicit = os.environ.get("OTKLIK_SESSION_FILE")
    if explicit:
        return Path(explicit)
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "otklik" / "session"


def save_token(token: str) -> Path:
    path = session_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    os.chmod(tmp, 0o600)  # in case the file existed with wider permissions
    os.replace(tmp, path)
    return path


def stored_token() -> str | None:
    env = os.environ.get("OTKLIK_TOKEN")
    if env:
        return env.strip()
    try:
        return session_file().read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def cli_address() -> str:
    """The CLI's 'client address' for throttling: the operating-system account on this host."""
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (KeyError, OSError):
        return "cli:unknown"


def current_actor(session, otp: str | None = None) -> Actor:
    """The Actor of the stored session (via='cli'); with `otp`, proves the second factor again first."""
    import dataclasses

    from otklik.api import auth

    token = stored_token()
    actor = auth.resolve(session, token, via="cli") if token else None
    if actor is None:
        raise PermissionDenied(NO_SESSION)
    if otp:
        at = auth.step_up(session, actor, otp, address=cli_address())
        if at is None:
            raise PermissionDenied("неверный одноразовый код")
        actor = dataclasses.replace(actor, second_factor_at=at)
    return actor


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("login", help="log in: keeps a session for `otklik cases …` (or prints its token)")
    p.add_argument("--login", dest="login_name", help="login (asked when not given)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    p.add_argument("--otp", help="one-time code or recovery code (asked when not given and a terminal is present)")
    p.add_argument("--print-token", action="store_true",
                   help="print the session token (for API scripts) instead of storing it")
    p.set_defaults(func=cmd_login)
    p = sub.add_parser("logout", help="end the stored session and forget it")
    p.set_defaults(func=cmd_logout)
    p = sub.add_parser("passwd", help="change your password (needs `otklik login`)")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the old and the new password from the first two lines of stdin")
    p.set_defaults(func=cmd_passwd)


def _db() -> Database:
    return Database.connect(load_settings().database_url)


def cmd_login(args: argparse.Namespace) -> int:
    from otklik.api import auth

    interactive = sys.stdin.isatty()
    login_name = args.login_name or input("Логин: ").strip()
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Пароль: ")
    otp = args.otp
    if otp is None and interactive:
        otp = input("Одноразовый код (Enter, если его нет): ").strip() or None
    db = _db()
    result = auth.login(db, login_name, password, otp, kind="cli", address=cli_address())
    if result.retry_after:
        print(f"otklik: слишком много попыток входа; повторите через {result.retry_after} с", file=sys.stderr)
        return 2
    if not result.ok:
        print("otklik: неверный логин, пароль или код", file=sys.stderr)
        return 2
    if args.print_token:
        print(result.token)
        return 0
    path = save_token(result.token)
    until = result.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    print(f"вход выполнен: {result.actor.login} ({result.actor.role}); сессия в {path}, не дольше чем до {until}",
          file=sys.stderr)
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    from otklik.api import auth

    token = stored_token()
    if token:
        with _db().session() as s:
            actor = auth.resolve(s, token, via="cli")
            if actor is not None:
                auth.logout(s, actor)
    try:
        session_file().unlink()
    except FileNotFoundError:
        pass
    print("выход выполнен", file=sys.stderr)
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    from otklik.api import auth

    if args.password_stdin:
        old = sys.stdin.readline().rstrip("\n")
        new = sys.stdin.readline().rstrip("\n")
    else:
        old = getpass.getpass("Текущий пароль: ")
        new = getpass.getpass("Новый пароль: ")
        if getpass.getpass("Новый пароль ещё раз: ") != new:
            print("otklik: пароли не совпадают", file=sys.stderr)
            return 2
    with _db().session() as s:
        actor = current_actor(s)
        try:
            ended = auth.change_password(s, actor, old, new)
        except auth.PasswordRejected as exc:
            print(f"otklik: пароль не подходит: {exc}", file=sys.stderr)
            return 2
    if ended is None:
        print("otklik: неверный текущий пароль", file=sys.stderr)
        return 2
    print(f"пароль изменён; другие сессии завершены: {ended}", file=sys.stderr)
    return 0
