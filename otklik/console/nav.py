"""The navigation bar: one entry per page, shown to the roles that may use it. A page added to the
console adds its entry here (see README.md). Which roles may *act* is still decided by the
service layer; this list only spares people links that would answer 403."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from otklik.actor import Actor

EVERYONE = frozenset({"curator", "executor", "approver", "head", "admin"})
CASE_ROLES = frozenset({"curator", "executor", "approver", "head"})


@dataclass(frozen=True)
class NavEntry:
    title: str  # Russian, shown in the bar
    path: str
    roles: frozenset[str]


ENTRIES: list[NavEntry] = [
    NavEntry("Входящие", "/console/inbox", CASE_ROLES),
    NavEntry("На согласовании", "/console/inbox?state=on_approval", frozenset({"approver", "curator"})),
    NavEntry("Поиск", "/console/search", CASE_ROLES),
]


# The request key of the header's bell count (otklik/console/views/notifications.py fills it);
# typed where this aiohttp has request keys, as otklik.console.session's.
_KEY = getattr(web, "RequestKey", None)
UNREAD = _KEY("console_unread", int) if _KEY else "console_unread"


def add(title: str, path: str, roles: frozenset[str] | set[str]) -> None:
    """Register a page in the bar (idempotent: setup may run once per app in tests)."""
    entry = NavEntry(title, path, frozenset(roles))
    if entry not in ENTRIES:
        ENTRIES.append(entry)


def for_actor(actor: Actor | None) -> list[NavEntry]:
    if actor is None:
        return []
    return [e for e in ENTRIES if e.roles & actor.roles]

ROLE_NAMES = {"curator": "куратор", "executor": "исполнитель", "approver": "согласующий", "head": "руководитель",
              "admin": "администратор"}


def current(entries: list[NavEntry], path: str, path_qs: str) -> str | None:
    """The entry to mark as the current page: the exact address, else the same path."""
    for e in entries:
        if e.path == path_qs:
            return e.path
    return next((e.path for e in entries if e.path == path), None)
