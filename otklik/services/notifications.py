"""A person's notifications and preferences, for the API, the CLI and the console.

Anyone reads and sets their own; an admin (who runs the directory) reads and sets another
person's preferences and sees the notes that could not be delivered. The list is the console
channel's notes (the record of every event the person was told of), each with how its other
channels fared, so a bounced e-mail is visible where the person looks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from otklik.actor import Actor
from otklik.exceptions import InvalidTransition, NotFound
from otklik.notify import prefs, store
from otklik.services import access
from storage import audit
from storage.tables import NotificationRow, UserRow, now

LIMIT = 200
_UNSET: Any = object()


def _user(session: Session, actor: Actor, login: str | None) -> UserRow:
    if login is not None and login != actor.login:
        access.require(session, actor, "manage_directory", entity="notify_preferences", entity_id=login)
    user = session.execute(select(UserRow).where(UserRow.login == (login or actor.login))).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {login or actor.login}")
    return user


def get_preferences(session: Session, actor: Actor, login: str | None = None) -> dict[str, Any]:
    user = _user(session, actor, login)
    return {"login": user.login, **prefs.as_dict(prefs.load(session, user.id))}


def set_preferences(session: Session, actor: Actor, login: str | None = None, *, channels: Any = _UNSET,
                    quiet_start: Any = _UNSET, quiet_end: Any = _UNSET, digest: Any = _UNSET,
                    digest_at: Any = _UNSET) -> dict[str, Any]:
    """Change what is given; the rest stays. Empty quiet hours ("" or None for both) turn them off."""
    user = _user(session, actor, login)
    old = prefs.load(session, user.id)
    new = prefs.Prefs(
        channels=tuple(old.channels if channels is _UNSET else (channels or ())),
        quiet_start=old.quiet_start if quiet_start is _UNSET else (quiet_start or None),
        quiet_end=old.quiet_end if quiet_end is _UNSET else (quiet_end or None),
        digest=old.digest if digest is _UNSET else bool(digest),
        digest_at=old.digest_at if digest_at is _UNSET or not digest_at else digest_at)
    prefs.save(session, user.id, new)
    audit.append(session, actor=actor.login, action="notify_preferences_set", entity="user", entity_id=user.id,
                 data=prefs.as_dict(new))
    return {"login": user.login, **prefs.as_dict(new)}


def _event_key(row: NotificationRow) -> str:
    return row.dedupe_key.split("|", 1)[0]


def listing(session: Session, actor: Actor, *, unread: bool = False, limit: int = 50) -> list[dict[str, Any]]:
    user = _user(session, actor, None)
    stmt = select(NotificationRow).where(NotificationRow.user_id == user.id, NotificationRow.channel == "console")
    if unread:
        stmt = stmt.where(NotificationRow.read_at.is_(None))
    rows = list(session.execute(stmt.order_by(NotificationRow.id.desc()).limit(min(max(limit, 1), LIMIT))).scalars())
    keys = {_event_key(r): r for r in rows}
    others: dict[str, dict[str, str]] = {}
    if keys:  # the same events' other channels, by their unique keys
        wanted = [f"{k}|{user.id}|{c}" for k in keys for c in prefs.CHANNELS if c != "console"]
        for r in session.execute(select(NotificationRow).where(NotificationRow.dedupe_key.in_(wanted))).scalars():
            others.setdefault(_event_key(r), {})[r.channel] = r.status
    return [{**store.as_dict(r), "deliveries": others.get(_event_key(r), {})} for r in rows]


def unread_count(session: Session, actor: Actor) -> int:
    user = session.execute(select(UserRow.id).where(UserRow.login == actor.login)).scalar_one_or_none()
    if user is None:
        return 0
    return session.execute(select(func.count()).select_from(NotificationRow).where(
        NotificationRow.user_id == user, NotificationRow.channel == "console",
        NotificationRow.read_at.is_(None))).scalar_one()


def mark_read(session: Session, actor: Actor, ids: list[int] | None = None) -> int:
    """Mark the person's own notes read (all of them when `ids` is None); returns how many."""
    user = _user(session, actor, None)
    stmt = update(NotificationRow).where(NotificationRow.user_id == user.id, NotificationRow.channel == "console",
                                         NotificationRow.read_at.is_(None))
    if ids is not None:
        if not ids:
            raise InvalidTransition("no notes named")
        stmt = stmt.where(NotificationRow.id.in_(ids))
    return session.execute(stmt.values(read_at=now())).rowcount or 0


def failed(session: Session, actor: Actor, limit: int = 100) -> list[dict[str, Any]]:
    """Notes that could not be delivered (a bounced address, an unlinked chat): the admin's list."""
    access.require(session, actor, "manage_directory", entity="notifications")
    rows = session.execute(select(NotificationRow, UserRow.login).join(UserRow, UserRow.id == NotificationRow.user_id)
                           .where(NotificationRow.status == "failed").order_by(NotificationRow.id.desc())
                           .limit(limit)).all()
    return [{**store.as_dict(r), "login": login} for r, login in rows]


def retry(session: Session, actor: Actor, note_id: int) -> dict[str, Any]:
    """Put a failed note back to pending (a fixed address, a chat linked since): the relay enqueues
    it on its next tick with a fresh count of attempts. Admins only; audited. Any other state is
    refused, so a note already sent is never sent twice from here."""
    access.require(session, actor, "manage_directory", entity="notification", entity_id=str(note_id))
    row = session.get(NotificationRow, note_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no notification {note_id}")
    if row.status != "failed":
        raise InvalidTransition(f"notification {note_id} is {row.status}, only a failed one is retried")
    previous = row.last_error
    row.status, row.attempts, row.not_before, row.sending_at, row.enqueued_at = "pending", 0, None, None, None
    audit.append(session, actor=actor.login, action="notification_retry", entity="notification", entity_id=row.id,
                 data={"channel": row.channel, "error": previous})
    return store.as_dict(row)
