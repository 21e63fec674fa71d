"""The roles a user holds beyond its primary one (an admin who also approves). Run by an admin,
audited. Creating users, passwords and sessions is otklik.api.auth's."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from otklik.actor import Actor
from otklik.api.auth import TWO_FACTOR_ROLES
from otklik.exceptions import InvalidTransition, NotFound
from otklik.services import access
from storage import audit
from storage.tables import UserRow


def set_roles(session: Session, actor: Actor, login: str, roles: list[str]) -> list[str]:
    """The user holds its primary role and these; returns every role held."""
    access.require(session, actor, "manage_directory", entity="user", entity_id=login)
    unknown = [r for r in roles if r not in access.ROLES]
    if unknown:
        raise InvalidTransition(f"unknown role {', '.join(unknown)}; roles: {', '.join(access.ROLES)}")
    user = session.execute(select(UserRow).where(UserRow.login == login)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {login}")
    held = [user.role, *sorted(set(roles) - {user.role})]
    if set(held) & TWO_FACTOR_ROLES and not user.totp_secret:
        raise InvalidTransition(f"{login} has no second factor; a role that approves needs one")
    before = list(user.roles or [user.role])
    user.roles = held
    audit.append(session, actor=actor.login, action="roles_set", entity="user", entity_id=user.id,
                 data={"login": login, "before": before, "after": held})
    return held


EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


def set_email(session: Session, actor: Actor, login: str, address: str | None) -> str | None:
    """Where this user's scheduled reports go (heads); None clears it. Admins only."""
    access.require(session, actor, "manage_directory", entity="user", entity_id=login)
    address = (address or "").strip() or None
    if address is not None and (len(address) > 300 or not EMAIL.match(address)):
        raise InvalidTransition(f"not an e-mail address: {address[:60]!r}")
    user = session.execute(select(UserRow).where(UserRow.login == login)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {login}")
    user.email = address
    audit.append(session, actor=actor.login, action="email_set", entity="user", entity_id=user.id,
                 data={"login": login, "set": address is not None})  # not the address: personal data
    return address


def listing(session: Session, actor: Actor) -> list[dict]:
    """Every user for the admin's page: roles, department, whether a second factor and a report
    address are set (not the address itself), active or not."""
    access.require(session, actor, "manage_directory", entity="users")
    return [{"login": u.login, "role": u.role, "roles": list(u.roles or [u.role]), "department": u.department,
             "active": u.active, "two_factor": bool(u.totp_secret), "has_email": bool(u.email),
             "created_at": u.created_at.isoformat() if u.created_at else None}
            for u in session.execute(select(UserRow).order_by(UserRow.login)).scalars()]
