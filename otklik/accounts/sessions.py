"""Sessions: one row per login, the token stored only hashed; an idle and an absolute lifetime."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from otklik.actor import Actor
from storage.tables import SessionRow, UserRow

KINDS = ("api", "cli", "console")
# last_seen_at is written at most this often: a busy client does not turn every read into a write.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class Lifetimes:
    idle: timedelta
    absolute: timedelta

    @classmethod
    def from_settings(cls, settings) -> Lifetimes:
        return cls(idle=timedelta(minutes=settings.session_idle_minutes),
                   absolute=timedelta(hours=settings.session_absolute_hours))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, user: UserRow, *, kind: str, lifetimes: Lifetimes, at: datetime,
          address: str | None, second_factor: bool) -> tuple[SessionRow, str]:
    if kind not in KINDS:
        raise ValueError(f"unknown session kind {kind!r}")
    token = secrets.token_urlsafe(32)
    row = SessionRow(user_id=user.id, token_hash=token_hash(token), kind=kind, created_at=at, last_seen_at=at,
                     idle_seconds=int(lifetimes.idle.total_seconds()), expires_at=at + lifetimes.absolute,
                     second_factor_at=at if second_factor else None, client_address=(address or "")[:64] or None)
    session.add(row)
    session.flush()
    return row, token


def is_live(row: SessionRow, at: datetime) -> bool:
    return (row.revoked_at is None and at < row.expires_at
            and at < row.last_seen_at + timedelta(seconds=row.idle_seconds))


def resolve(session: Session, token: str, *, at: datetime, via: str) -> Actor | None:
    """The Actor behind a token, or None when the token is unknown, expired, revoked or its user
    deactivated. Touches last_seen_at (at most once a minute)."""
    if not token:
        return None
    found = session.execute(select(SessionRow, UserRow).join(UserRow, UserRow.id == SessionRow.user_id)
                            .where(SessionRow.token_hash == token_hash(token))).first()
    if found is None:
        return None
    row, user = found
    if not user.active or not is_live(row, at):
        return None
    if at - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = at
    return Actor(login=user.login, role=user.role, department=user.department, user_id=user.id,
                 session_id=row.id, second_factor_at=row.second_factor_at, via=via,
                 roles=frozenset(user.roles or ()))


def by_token(session: Session, token: str) -> SessionRow | None:
    return session.execute(select(SessionRow).where(SessionRow.token_hash == token_hash(token))).scalar_one_or_none()


def revoke(session: Session, session_id: int, *, at: datetime, reason: str) -> bool:
    n = session.execute(update(SessionRow).where(SessionRow.id == session_id, SessionRow.revoked_at.is_(None))
                        .values(revoked_at=at, revoke_reason=reason)
                        .execution_options(synchronize_session=False)).rowcount
    return bool(n)


def revoke_user(session: Session, user_id: int, *, at: datetime, reason: str,
                except_session: int | None = None) -> int:
    stmt = update(SessionRow).where(SessionRow.user_id == user_id, SessionRow.revoked_at.is_(None))
    if except_session is not None:
        stmt = stmt.where(SessionRow.id != except_session)
    n = session.execute(stmt.values(revoked_at=at, revoke_reason=reason)
                        .execution_options(synchronize_session=False)).rowcount
    return int(n)


def mark_second_factor(session: Session, session_id: int, at: datetime) -> None:
    session.execute(update(SessionRow).where(SessionRow.id == session_id).values(second_factor_at=at)
                    .execution_options(synchronize_session=False))


def listing(session: Session, user_id: int, at: datetime) -> list[dict]:
    rows = session.execute(select(SessionRow).where(SessionRow.user_id == user_id)
                           .order_by(SessionRow.id.desc()).limit(100)).scalars()
    return [{"id": r.id, "kind": r.kind, "created_at": r.created_at.isoformat(),
             "last_seen_at": r.last_seen_at.isoformat(), "expires_at": r.expires_at.isoformat(),
             "live": is_live(r, at), "client_address": r.client_address,
             "second_factor_at": r.second_factor_at.isoformat() if r.second_factor_at else None}
            for r in rows]
