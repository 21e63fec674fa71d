"""Substitutes: a colleague who stands in during an absence (000 §9, 001 §7). From `starts_on` to
`ends_on`, the municipality's dates inclusive, the substitute works in the absent executor's
department as well as its own (access.scope reads this table). Run by an admin, audited."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from otklik.actor import Actor
from otklik.exceptions import InvalidTransition, NotFound
from otklik.services import access
from storage import audit
from storage.tables import SubstituteRow, UserRow, now

REASONS = ("illness", "leave", "travel", "other")


def add(session: Session, actor: Actor, absent: str, substitute: str, starts_on: date, ends_on: date,
        reason: str = "leave") -> dict[str, Any]:
    access.require(session, actor, "manage_directory", entity="substitute")
    if absent == substitute:
        raise InvalidTransition("a user cannot stand in for itself")
    if ends_on < starts_on:
        raise InvalidTransition(f"the substitution ends ({ends_on}) before it starts ({starts_on})")
    if reason not in REASONS:
        raise InvalidTransition(f"reason is one of {', '.join(REASONS)}, not {reason!r}")
    users = {u.login: u for u in session.execute(
        select(UserRow).where(UserRow.login.in_((absent, substitute)))).scalars()}
    for login in (absent, substitute):
        if login not in users:
            raise InvalidTransition(f"no user {login}")
    if not users[absent].department:
        raise InvalidTransition(f"{absent} has no department to hand over")
    row = SubstituteRow(absent_login=absent, substitute_login=substitute, starts_on=starts_on, ends_on=ends_on,
                        reason=reason, created_by=actor.login, created_at=now())
    session.add(row)
    session.flush()
    audit.append(session, actor=actor.login, action="substitute_added", entity="substitute", entity_id=row.id,
                 data=as_dict(row))
    return as_dict(row)


def listing(session: Session, actor: Actor) -> list[dict[str, Any]]:
    access.require(session, actor, "manage_directory", entity="substitutes")
    stmt = select(SubstituteRow).order_by(SubstituteRow.starts_on, SubstituteRow.id)
    return [as_dict(r) for r in session.execute(stmt).scalars()]


def remove(session: Session, actor: Actor, substitute_id: int) -> None:
    access.require(session, actor, "manage_directory", entity="substitute", entity_id=substitute_id)
    row = session.get(SubstituteRow, substitute_id)
    if row is None:
        raise NotFound(f"no substitution {substitute_id}")
    audit.append(session, actor=actor.login, action="substitute_removed", entity="substitute",
                 entity_id=substitute_id, data=as_dict(row))
    session.delete(row)


def as_dict(row: SubstituteRow) -> dict[str, Any]:
    return {"id": row.id, "absent": row.absent_login, "substitute": row.substitute_login,
            "from": row.starts_on.isoformat(), "to": row.ends_on.isoformat(), "reason": row.reason}
