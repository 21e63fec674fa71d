"""The account service: users, logins, sessions, second factors, passwords, lockouts, and the
audit of all of it. Whoever may approve uses two factors (002 app. 2 §5–7: official accounts are
protected by two-factor authentication). The pieces live in otklik/accounts by noun; this module
combines them and decides who may do what (the service layer, not the handlers).

Failed logins are blind: an unknown login, a wrong password, a missing or wrong code and a
deactivated user get the same answer after the same work (a scrypt check against a dummy hash
for unknown logins, the TOTP check against a dummy secret where there is none).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from otklik.accounts import passwords, throttle, totp
from otklik.accounts import sessions as session_store
from otklik.accounts.secretbox import SecretBox, default_box
from otklik.accounts.sessions import Lifetimes
from otklik.actor import Actor
from otklik.exceptions import NotFound, OtklikError, PermissionDenied
from storage import audit
from storage.tables import AuditRow, DepartmentRow, UserRow, now

ROLES = ("curator", "executor", "approver", "head", "admin")
# Everyone who can approve a reply for an official account uses two factors.
TWO_FACTOR_ROLES = {"approver", "admin", "curator", "head"}
LOGIN_FAILED = "wrong login, password or code"

# Kept for callers of the old module: the hashing lives in otklik.accounts.passwords.
hash_password = passwords.hash_password
verify_password = passwords.verify_password


class PasswordRejected(OtklikError, ValueError):
    """A new password that breaks the rules; the message lists what (in Russian, for the person)."""


class LoginTaken(OtklikError, ValueError):
    """A user with this login exists already."""


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    token: str | None = None
    actor: Actor | None = None
    expires_at: datetime | None = None
    retry_after: int | None = None  # set when refused for too many attempts


def _lifetimes() -> Lifetimes:
    from otklik.settings import get_settings

    return Lifetimes.from_settings(get_settings())


def _user(session: Session, login: str) -> UserRow | None:
    return session.execute(select(UserRow).where(UserRow.login == login)).scalar_one_or_none()


def need_admin(actor: Actor) -> None:
    if actor.role != "admin":
        raise PermissionDenied("only an admin may do this")


def check_password_rules(password: str, login: str) -> None:
    found = passwords.problems(password, login)
    if found:
        raise PasswordRejected("; ".join(found))


# -- users -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NewUser:
    user: UserRow
    password: str
    totp_secret: str | None  # plain, to show once; stored encrypted
    recovery_codes: list[str]  # plain, to show once; stored hashed


def create_user(session: Session, login: str, role: str, password: str | None = None,
                department: str | None = None, *, by: str = "system", box: SecretBox | None = None,
                at: datetime | None = None) -> tuple[UserRow, str, str | None]:
    """Returns the user, the password (generated when not given) and the plain TOTP secret if the
    role needs one. See `create_user_full` for the recovery codes."""
    made = create_user_full(session, login, role, password, department, by=by, box=box, at=at)
    return made.user, made.password, made.totp_secret


def create_user_full(session: Session, login: str, role: str, password: str | None = None,
                     department: str | None = None, *, by: str = "system", box: SecretBox | None = None,
                     at: datetime | None = None) -> NewUser:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if _user(session, login) is not None:
        raise LoginTaken(f"пользователь {login} уже есть")
    if department is not None and session.get(DepartmentRow, department) is None:
        # Checked here, not left to the foreign key: a clear sentence instead of an IntegrityError.
        raise NotFound(f"отдела {department} нет в справочнике (otklik departments add {department} НАЗВАНИЕ)")
    at = at or now()
    if password is None:
        password = passwords.generate()
    else:
        check_password_rules(password, login)
    secret = totp.new_secret() if role in TWO_FACTOR_ROLES else None
    sealed = (box or default_box()).seal(secret) if secret else None
    user = UserRow(login=login, role=role, department=department, password_hash=passwords.hash_password(password),
                   totp_secret=sealed, active=True, created_at=at, password_changed_at=at)
    session.add(user)
    session.flush()
    codes = totp.new_recovery_codes(session, user, at) if secret else []
    audit.append(session, actor=by, action="user_created", entity="user", entity_id=user.id,
                 data={"login": login, "role": role, "department": department})
    return NewUser(user, password, secret, codes)


def regenerate_recovery_codes(session: Session, login: str, *, by: str, at: datetime | None = None) -> list[str]:
    user = _user(session, login)
    if user is None:
        raise NotFound(f"no user {login}")
    codes = totp.new_recovery_codes(session, user, at or now())
    audit.append(session, actor=by, action="recovery_codes_issued", entity="user", entity_id=user.id)
    return codes


def deactivate(session: Session, login: str, *, by: Actor | str, at: datetime | None = None) -> int:
    """Deactivates a user and ends every session of theirs; returns how many were ended."""
    who = _by(by)
    user = _user(session, login)
    if user is None:
        raise NotFound(f"no user {login}")
    at = at or now()
    user.active = False
    ended = session_store.revoke_user(session, user.id, at=at, reason="deactivated")
    audit.append(session, actor=who, action="user_deactivated", entity="user", entity_id=user.id,
                 data={"sessions_ended": ended})
    return ended


def unlock(session: Session, login: str, *, by: Actor | str, at: datetime | None = None) -> None:
    who = _by(by)
    throttle.unlock(session, login, at or now())
    user = _user(session, login)
    audit.append(session, actor=who, action="login_unlocked", entity="user",
                 entity_id=user.id if user else "-", data={"login": throttle.clean_login(login)})


def revoke_sessions_of(session: Session, login: str, *, by: Actor | str, at: datetime | None = None) -> int:
    who = _by(by)
    user = _user(session, login)
    if user is None:
        raise NotFound(f"no user {login}")
    n = session_store.revoke_user(session, user.id, at=at or now(), reason="revoked_by_admin")
    audit.append(session, actor=who, action="sessions_revoked", entity="user", entity_id=user.id,
                 data={"sessions": n, "by_admin": True})
    return n


def _by(by: Actor | str) -> str:
    """Admin actions come from an admin's session (checked here) or from the operator's shell on the
    server, who holds the database itself (a string such as 'shell:root')."""
    if isinstance(by, Actor):
        need_admin(by)
        return by.login
    return by


# -- logging in ------------------------------------------------------------------------------------
def _check_code(session: Session, user: UserRow, code: str | None, box: SecretBox, at: datetime) -> str | None:
    """'totp' or 'recovery' when the code is good (and now used up), None otherwise."""
    code = (code or "").strip()
    if totp.check_totp(session, user, code, box, at):
        return "totp"
    if code and not (code.isdigit() and len(code) == 6) and totp.use_recovery_code(session, user, code, at):
        audit.append(session, actor=user.login, action="recovery_code_used", entity="user", entity_id=user.id,
                     data={"left": totp.recovery_codes_left(session, user.id)})
        return "recovery"
    return None


def login(db, login_name: str, password: str, otp: str | None = None, *, kind: str = "api",
          address: str | None = None, at: datetime | None = None, box: SecretBox | None = None,
          lifetimes: Lifetimes | None = None) -> LoginResult:
    """One login attempt. `db` is a storage.db.Database: the attempt is recorded in its own
    transaction whatever the outcome, and the slow password check runs outside any transaction."""
    at = at or now()
    box = box or default_box()
    address = (address or "unknown")[:64]
    name = throttle.clean_login(login_name)
    with db.session() as s:
        verdict = throttle.check(s, name, address, at)
        user = _user(s, login_name) if verdict.allowed else None
        stored_hash = user.password_hash if user is not None else passwords.dummy_hash()
    if not verdict.allowed:
        return LoginResult(False, retry_after=verdict.retry_after)
    password_ok = passwords.verify_password(password, stored_hash)
    with db.session() as s:
        user = _user(s, login_name)
        reason = None
        second_factor = False
        if user is None:
            reason = "unknown_login"
        elif not password_ok:
            reason = "password"
        elif not user.active:
            reason = "inactive"
        if reason is None and user.totp_secret:
            second_factor = _check_code(s, user, otp, box, at) is not None
            if not second_factor:
                reason = "code"
        else:
            totp.check_totp(s, None, otp or "", box, at)  # the same work where no code is checked
        if reason is not None:
            failures = throttle.record(s, name, address, "fail", at)
            audit.append(s, actor=name, action="login_failed", entity="user",
                         entity_id=user.id if user is not None else "-",
                         data={"login": name, "address": address, "reason": reason, "kind": kind})
            if failures >= throttle.PAIR_FREE:
                audit.append(s, actor=name, action="login_locked", entity="user",
                             entity_id=user.id if user is not None else "-",
                             data={"login": name, "address": address, "failures": failures,
                                   "seconds": int(throttle.pair_delay(failures).total_seconds())})
            return LoginResult(False)
        throttle.record(s, name, address, "ok", at)
        row, token = session_store.start(s, user, kind=kind, lifetimes=lifetimes or _lifetimes(), at=at,
                                         address=address, second_factor=second_factor)
        audit.append(s, actor=user.login, action="login", entity="user", entity_id=user.id,
                     data={"session": row.id, "kind": kind, "address": address, "second_factor": second_factor})
        actor = Actor(login=user.login, role=user.role, department=user.department, user_id=user.id,
                      session_id=row.id, second_factor_at=row.second_factor_at, via=kind,
                      roles=frozenset(user.roles or ()))
        return LoginResult(True, token=token, actor=actor, expires_at=row.expires_at)


def resolve(session: Session, token: str, *, via: str = "api", at: datetime | None = None) -> Actor | None:
    return session_store.resolve(session, token, at=at or now(), via=via)


def step_up(session: Session, actor: Actor, code: str, *, address: str | None = None,
            box: SecretBox | None = None, at: datetime | None = None) -> datetime | None:
    """Proves the second factor again on this session; returns the new second_factor_at, or None
    for a wrong code — the failure is recorded, so the caller lets this transaction commit and then
    refuses."""
    at = at or now()
    address = (address or "unknown")[:64]
    if actor.session_id is None or actor.user_id is None:
        raise PermissionDenied("no session to confirm")
    verdict = throttle.check(session, actor.login, address, at)
    if not verdict.allowed:
        raise PermissionDenied(f"too many attempts; retry in {verdict.retry_after} s")
    user = session.get(UserRow, actor.user_id)
    if user is None or not user.totp_secret:
        raise PermissionDenied("this account has no second factor")
    if _check_code(session, user, code, box or default_box(), at) is None:
        throttle.record(session, actor.login, address, "fail", at)
        audit.append(session, actor=actor.login, action="step_up_failed", entity="user", entity_id=user.id,
                     data={"session": actor.session_id, "address": address})
        return None
    session_store.mark_second_factor(session, actor.session_id, at)
    audit.append(session, actor=actor.login, action="step_up", entity="user", entity_id=user.id,
                 data={"session": actor.session_id})
    return at


def logout(session: Session, actor: Actor, *, at: datetime | None = None) -> None:
    if actor.session_id is None:
        return
    if session_store.revoke(session, actor.session_id, at=at or now(), reason="logout"):
        audit.append(session, actor=actor.login, action="logout", entity="user", entity_id=actor.user_id or "-",
                     data={"session": actor.session_id})


def revoke_own_sessions(session: Session, actor: Actor, *, keep_current: bool = False,
                        at: datetime | None = None) -> int:
    n = session_store.revoke_user(session, actor.user_id, at=at or now(), reason="revoked_by_user",
                                  except_session=actor.session_id if keep_current else None)
    audit.append(session, actor=actor.login, action="sessions_revoked", entity="user", entity_id=actor.user_id,
                 data={"sessions": n, "by_admin": False})
    return n


def change_password(session: Session, actor: Actor, old: str, new: str, *,
                    at: datetime | None = None) -> int | None:
    """Sets a new password after checking the old one; ends the user's other sessions and returns how
    many. None for a wrong old password (recorded: the caller lets the transaction commit, then
    refuses); PasswordRejected for a weak new one."""
    at = at or now()
    # A stolen session must not become a way to guess the password unthrottled.
    where = f"session:{actor.session_id}"
    verdict = throttle.check(session, actor.login, where, at)
    if not verdict.allowed:
        raise PermissionDenied(f"too many attempts; retry in {verdict.retry_after} s")
    user = session.get(UserRow, actor.user_id)
    if user is None or not user.active or not passwords.verify_password(old, user.password_hash):
        throttle.record(session, actor.login, where, "fail", at)
        audit.append(session, actor=actor.login, action="password_change_failed", entity="user",
                     entity_id=actor.user_id or "-")
        return None
    check_password_rules(new, user.login)
    user.password_hash = passwords.hash_password(new)
    user.password_changed_at = at
    ended = session_store.revoke_user(session, user.id, at=at, reason="password_changed",
                                      except_session=actor.session_id)
    audit.append(session, actor=actor.login, action="password_changed", entity="user", entity_id=user.id,
                 data={"other_sessions_ended": ended})
    return ended


def set_password(session: Session, login: str, new: str, *, by: Actor | str, at: datetime | None = None) -> None:
    """An admin (or the operator) sets a password; the user's sessions end."""
    who = _by(by)
    user = _user(session, login)
    if user is None:
        raise NotFound(f"no user {login}")
    check_password_rules(new, user.login)
    at = at or now()
    user.password_hash = passwords.hash_password(new)
    user.password_changed_at = at
    session_store.revoke_user(session, user.id, at=at, reason="password_reset")
    audit.append(session, actor=who, action="password_reset", entity="user", entity_id=user.id)


# -- the audit of accounts -------------------------------------------------------------------------
def audit_log(session: Session, reader: Actor | str, *, entity: str | None = None, actor: str | None = None,
              since: datetime | None = None, limit: int = 1000) -> list[dict]:
    _by(reader)
    stmt = select(AuditRow)
    if entity:
        stmt = stmt.where(AuditRow.entity == entity)
    if actor:
        stmt = stmt.where(AuditRow.actor == actor)
    if since:
        stmt = stmt.where(AuditRow.at >= since)
    rows = session.execute(stmt.order_by(AuditRow.id.desc()).limit(limit)).scalars()
    return [{"id": a.id, "at": a.at.isoformat(), "actor": a.actor, "action": a.action, "entity": a.entity,
             "entity_id": a.entity_id, "data": a.data} for a in rows]
