"""One-time codes: TOTP accepted once each, and recovery codes that stand in for it once each."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from otklik.accounts.secretbox import SecretBox
from storage.tables import RecoveryCodeRow, UserRow

STEP = 30  # seconds, as every authenticator app
WINDOW = 1  # one step either side: phone clocks drift
RECOVERY_CODES = 10
# Checked against when a user has no secret, so that a missing second factor costs the same.
_DUMMY = pyotp.random_base32()


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, login: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name="otklik")


def _matching_step(secret: str, code: str, at: datetime) -> int | None:
    totp = pyotp.TOTP(secret)
    now_step = int(at.timestamp()) // STEP
    found = None
    for step in range(now_step - WINDOW, now_step + WINDOW + 1):
        # Every step is compared (no early exit): the time taken does not depend on which matched.
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def check_totp(session: Session, user: UserRow | None, code: str, box: SecretBox, at: datetime) -> bool:
    """True once per code: the step is recorded, and that step and older ones are refused after."""
    code = code.strip().replace(" ", "")
    secret = box.open(user.totp_secret) if user is not None and user.totp_secret else _DUMMY
    well_formed = code.isdigit() and len(code) == 6 and code.isascii()
    # The code path runs even for a malformed code or no secret: same work, same time.
    step = _matching_step(secret, code if well_formed else "000000", at)
    if user is None or not user.totp_secret or not well_formed or step is None:
        return False
    # One conditional UPDATE: two logins racing with the same code cannot both win.
    won = session.execute(
        update(UserRow).where(UserRow.id == user.id,
                              (UserRow.totp_last_step.is_(None)) | (UserRow.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False)).rowcount
    if won and not box.is_sealed(user.totp_secret):
        user.totp_secret = box.seal(secret)  # a secret stored before encryption existed
    return bool(won)


def _code_hash(code: str) -> str:
    # Recovery codes carry 50 random bits and login attempts are throttled: a plain hash suffices.
    return hashlib.sha256(code.strip().lower().replace("-", "").encode()).hexdigest()


def new_recovery_codes(session: Session, user: UserRow, at: datetime) -> list[str]:
    """Replaces the user's recovery codes; the plain codes exist only in the return value."""
    for row in session.execute(select(RecoveryCodeRow).where(RecoveryCodeRow.user_id == user.id)).scalars():
        session.delete(row)
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(alphabet) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        session.add(RecoveryCodeRow(user_id=user.id, code_hash=_code_hash(raw), created_at=at))
    session.flush()
    return codes


def use_recovery_code(session: Session, user: UserRow | None, code: str, at: datetime) -> bool:
    if user is None:
        return False
    won = session.execute(
        update(RecoveryCodeRow).where(RecoveryCodeRow.user_id == user.id,
                                      RecoveryCodeRow.code_hash == _code_hash(code),
                                      RecoveryCodeRow.used_at.is_(None))
        .values(used_at=at).execution_options(synchronize_session=False)).rowcount
    return bool(won)


def recovery_codes_left(session: Session, user_id: int) -> int:
    rows = session.execute(select(RecoveryCodeRow.id).where(RecoveryCodeRow.user_id == user_id,
                                                            RecoveryCodeRow.used_at.is_(None)))
    return len(rows.all())
