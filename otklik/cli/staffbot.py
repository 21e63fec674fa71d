"""`otklik notify link telegram|max`, `otklik notify unlink telegram|max`, `otklik notify bot`: the
logged-in person links their own chat with the staff bot (otklik/services/staff_links.py), which
then writes their notifications there. The `notify` group is otklik.cli.notify's."""

from __future__ import annotations

import argparse
from datetime import datetime

from otklik.cli.cases import _identity, _local, _with, _zone
from otklik.services import staff_links
from otklik.settings import load_settings
from otklik.staffbot import PLATFORMS


def _notify_group(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """The actions of `otklik notify` (otklik.cli.notify, listed before this module)."""
    return next(a for a in sub.choices["notify"]._actions if isinstance(a, argparse._SubParsersAction))


def register(sub: argparse._SubParsersAction) -> None:
    acts = _notify_group(sub)
    p = acts.add_parser("link", help="a one-time code to link your Telegram or MAX chat with the staff bot")
    p.add_argument("platform", choices=PLATFORMS)
    _identity(p)
    p.set_defaults(func=cmd_link)
    p = acts.add_parser("unlink", help="stop the staff bot writing to your chat on a platform")
    p.add_argument("platform", choices=PLATFORMS)
    _identity(p)
    p.set_defaults(func=cmd_unlink)
    p = acts.add_parser("bot", help="which platforms of the staff bot you have linked")
    _identity(p)
    p.set_defaults(func=cmd_status)


def cmd_link(args: argparse.Namespace) -> int:
    config = load_settings().staff_bot
    out = _with(args, lambda s, actor: staff_links.request_code(s, actor, args.platform, enabled=config.enabled()))
    until = datetime.fromisoformat(out["expires_at"]).astimezone(_zone()).strftime("%H:%M")
    print(f"{out['instruction']}")
    print(f"Код действует до {until} (15 минут) и подходит один раз.")
    link = config.deep_link(args.platform, out["code"])
    if link:
        print(f"Или откройте ссылку: {link}")
    return 0


def cmd_unlink(args: argparse.Namespace) -> int:
    gone = _with(args, lambda s, actor: staff_links.unlink(s, actor, args.platform))
    name = staff_links.PLATFORM_NAMES[args.platform]
    print(f"Чат в {name} отвязан: уведомления туда больше не приходят." if gone else f"Чат в {name} не был привязан.")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    config = load_settings().staff_bot
    rows = _with(args, lambda s, actor: staff_links.status(s, actor, enabled=config.enabled()))
    if not rows:
        print("Бот для сотрудников не настроен ([staff_bot] в otklik.toml).")
    tz = _zone()
    for r in rows:
        since = f"привязан с {_local(r['linked_at'], tz)}" if r["linked"] else "не привязан"
        print(f"{r['name']}: {since}")
    return 0
