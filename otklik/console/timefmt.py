"""Times for people: the municipality's time zone (its profile) with the offset shown, and the
SLA timer's remaining time in words. Registered as Jinja filters by otklik.console.app."""

from __future__ import annotations

import functools
from datetime import datetime

from regulation.profiles import load_profile


@functools.cache
def _calendar(profile: str):
    return load_profile(profile).calendar


def local_time(value: datetime | str | None, profile: str, with_date: bool = True) -> str:
    """"07.12.2026 14:05 (UTC+07:00)" in the profile's zone; "—" for no time."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    local = _calendar(profile).local(value)
    offset = local.strftime("%z")
    shown = local.strftime("%d.%m.%Y %H:%M" if with_date else "%H:%M")
    return f"{shown} (UTC{offset[:3]}:{offset[3:]})"


def remaining(seconds: int | None) -> str:
    """The SLA timer: "осталось 2 д 3 ч", "осталось 45 мин", "просрочено на 1 ч 10 мин"."""
    if seconds is None:
        return "срок не задан"
    late = seconds < 0
    s = abs(int(seconds))
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        text = f"{days} д {hours} ч"
    elif hours:
        text = f"{hours} ч {minutes} мин"
    else:
        text = f"{minutes} мин"
    return f"просрочено на {text}" if late else f"осталось {text}"
