"""The admin's user management: creating users, the roles a user holds beyond its primary one (an
admin who also approves), deactivation, lockouts, sessions, recovery codes. Run by an admin (the
rule is `manage_directory` in access.py), audited; the console, the API and the CLI call these. The
mechanics of passwords, second factors and sessions are otklik.api.auth's."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from otklik.accounts.secretbox import SecretBox
from otklik.actor import Actor
from otklik.api import auth
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


LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


def add(session: Session, actor: Actor, login: str, role: str, department: str | None = None,
        email: str | None = None, *, box: SecretBox | None = None) -> auth.NewUser:
    """A new user with a generated password and, for two-factor roles, a TOTP secret and recovery
    codes: the result holds them in plain text to show once (stored hashed or sealed)."""
    access.require(session, actor, "manage_directory", entity="user", entity_id=login)
    if not LOGIN.match(login):
        raise InvalidTransition("login: lowercase latin letters, digits, '.', '_', '-' (up to 63)")
    if role not in access.ROLES:
        raise InvalidTransition(f"unknown role {role}; roles: {', '.join(access.ROLES)}")
    try:
        made = auth.create_user_full(session, login, role, department=department or None, by=actor.login, box=box)
    except auth.LoginTaken as exc:
        raise InvalidTransition(str(exc)) from None
    if email:
        set_email(session, actor, login, email)
    return made


def deactivate(session: Session, actor: Actor, login: str) -> int:
    """The user can no longer log in; every session of theirs ends. Returns how many ended."""
    access.require(session, actor, "manage_directory", entity="user", entity_id=login)
    return auth.deactivate(session, login, by=actor.login)


def unlock(session: Session, actor: Actor, login: str) -> None:
    """Lifts the login lockouts after too many failed attempts."""
    access.require(session, actor, "manage_directory", entity="user", entity_id=login)
    auth.unlock(session, login, by=actor.login)


def revoke_sessions(session: Session, actor: Actor, login: str) -> int:
    access.require(session, actor, "manage_directory", entity="user", entity_id=login)
    return auth.revoke_sessions_of(session, login, by=actor.login)


def recovery_codes(session: Session, actor: Actor, login: str) -> list[str]:
    """New recovery codes in plain text, to show once; the old ones stop working."""
    access.require(session, actor, "manage_directory", entity="user", entity_id=login)
    user = session.execute(select(UserRow).where(UserRow.login == login)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {login}")
    if not user.totp_secret:
        raise InvalidTransition(f"{login} has no second factor, so no recovery codes")
    return auth.regenerate_recovery_codes(session, login, by=actor.login)
