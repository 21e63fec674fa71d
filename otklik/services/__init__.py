"""The service layer, by noun: what the API, the CLI and the console call with the acting Actor.
Access is decided in `access`, once, for all of them.

`run` is the unit of work every front door uses: one transaction for the action and, when the
action is refused, the refusal written to the audit log in a transaction of its own (the refused
one rolls back, and on SQLite a second writer could not start while it is open)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from otklik.services import access
from storage.db import Database

T = TypeVar("T")


def run(db: Database, fn: Callable[[Session], T], *args: Any) -> T:
    try:
        with db.session() as s:
            return fn(s, *args)
    except (access.Refused, access.OutOfScope) as exc:
        with db.session() as s:
            access.record_refusal(s, exc)
        raise
