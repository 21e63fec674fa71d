"""Users, passwords, API tokens and TOTP. Whoever may approve must use two factors
(002 app. 2 §5–7: official accounts are protected by two-factor authentication)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from otklik.exceptions import PermissionDenied
from storage.tables import UserRow

ROLES = ("curator", "executor", "approver", "head", "admin")
# Everyone who can approve a reply for an official account uses two factors.
TWO_FACTOR_ROLES = {"approver", "admin", "curator", "head"}
_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(session: Session, login: str, role: str, password: str | None = None,
                department: str | None = None) -> tuple[UserRow, str, str | None]:
    """Returns the user, the password (generated when not given) and the TOTP secret if required."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    password = password or secrets.token_urlsafe(12)
    totp = pyotp.random_base32() if role in TWO_FACTOR_ROLES else None
    user = UserRow(login=login, role=role, department=department, password_hash=hash_password(password),
                   totp_secret=totp, active=True)
    session.add(user)
    session.flush()
    return user, password, totp


def issue_token(session: Session, user: UserRow) -> str:
    token = secrets.token_urlsafe(32)
    user.token_hash = token_hash(token)
    return token


def login(session: Session, login_name: str, password: str, otp: str | None) -> tuple[UserRow, str]:
    user = session.execute(select(UserRow).where(UserRow.login == login_name)).scalar_one_or_none()
    if user is None or not user.active or not verify_password(password, user.password_hash):
        raise PermissionDenied("wrong login or password")
    if user.totp_secret:
        if not otp or not pyotp.TOTP(user.totp_secret).verify(otp, valid_window=1):
            raise PermissionDenied("a valid one-time code is required for this role")
    return user, issue_token(session, user)


def user_by_token(session: Session, token: str) -> UserRow | None:
    user = session.execute(select(UserRow).where(UserRow.token_hash == token_hash(token))).scalar_one_or_none()
    return user if user is not None and user.active else None
