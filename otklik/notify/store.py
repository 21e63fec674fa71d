"""The `notifications` table: writing the notes of an event (inside the cause's transaction) and
their delivery states, the way storage.outbox keeps replies'.

pending -> enqueued -> sending -> sent | failed; deferred (quiet hours) becomes due at `not_before`
like a pending row. A claim older than outbox.SENDING_LEASE belongs to a worker that died and is
taken again. Console notes are stored as sent: being stored is their delivery."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from otklik.notify import channels, prefs
from otklik.notify.channels.base import Note
from otklik.notify.recipients import Absence, Event, Person, Recipient, Staff, recipients
from storage import outbox
from storage.tables import NotificationRow, NotifyPreferenceRow, SubstituteRow, UserRow, now

__all__ = ["NotificationRow", "staff_on", "tell", "write"]

log = logging.getLogger("otklik.notify")

ACTIVE = ("pending", "enqueued", "deferred", "sending")
MAX_ATTEMPTS = outbox.MAX_ATTEMPTS


def staff_on(session: Session, on) -> Staff:
    """The active staff and the substitutions covering `on` (plain columns: read on every event)."""
    people = tuple(Person(uid, login, frozenset({role, *(roles or ())}), dept) for uid, login, role, roles, dept in
                   session.execute(select(UserRow.id, UserRow.login, UserRow.role, UserRow.roles, UserRow.department)
                                   .where(UserRow.active.is_(True))))
    absences = tuple(Absence(*r) for r in session.execute(
        select(SubstituteRow.absent_login, SubstituteRow.substitute_login, SubstituteRow.starts_on,
               SubstituteRow.ends_on).where(SubstituteRow.starts_on <= on, SubstituteRow.ends_on >= on)
        .order_by(SubstituteRow.id)))
    return Staff(people, absences)


def tell(session: Session, event: Event, key: str, note_for: Callable[[Recipient], Note], *, tz: ZoneInfo,
         at: datetime | None = None, case_id: int | None = None) -> list[str]:
    """Write the notes of one event (`key` names it, once for all time) for everyone concerned,
    one row per channel they receive. Called in the transaction of the cause."""
    at = at or now()
    on = at.astimezone(tz).date()
    with session.no_autoflush:
        who = recipients(event, staff_on(session, on), on)
    return write(session, [(r, note_for(r)) for r in who], event.kind, key, tz=tz, at=at, case_id=case_id)


def write(session: Session, notes: list[tuple[Recipient, Note]], kind: str, key: str, *, tz: ZoneInfo,
          at: datetime, case_id: int | None = None) -> list[str]:
    """The rows of one event for these people: one per channel each receives; returns the keys of
    the rows written. A row that exists already (the same event seen again) is left alone; so is a
    channel without an address."""
    if not notes:
        return []
    with session.no_autoflush:
        found = session.execute(select(UserRow, NotifyPreferenceRow).outerjoin(
            NotifyPreferenceRow, NotifyPreferenceRow.user_id == UserRow.id).where(
            UserRow.id.in_([r.user_id for r, _ in notes]), UserRow.active.is_(True))).all()
        users = {u.id: (u, prefs.of_row(p)) for u, p in found}
        specs = []
        for r, note in notes:
            if r.user_id not in users:
                continue
            user, choice = users[r.user_id]
            quiet = None if note.urgent else prefs.quiet_until(at, choice, tz)
            for name in choice.delivery:
                channel = channels.get(name)
                if channel is None or not channel.address(session, user):
                    continue
                console = name == "console"
                specs.append(dict(
                    dedupe_key=f"{key}|{user.id}|{name}", user_id=user.id, channel=name, kind=kind, case_id=case_id,
                    standing_in_for=r.standing_in_for, subject=note.subject[:300], text=note.text, link=note.link,
                    urgent=note.urgent, attempts=0, created_at=at,
                    status="sent" if console else ("deferred" if quiet else "pending"),
                    sent_at=at if console else None, not_before=None if console else quiet))
    return _insert_new(session, specs) if specs else []


def _insert_new(session: Session, specs: list[dict]) -> list[str]:
    """One multi-row INSERT that skips the rows whose event × person × channel exists already (the
    same event seen again, or written meanwhile by another process): ON CONFLICT DO NOTHING on both
    backends, so the cause's transaction is never put at risk. Returns the keys written."""
    table = NotificationRow.__table__
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    stmt = (dialect_insert(table).values(specs).on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(table.c.dedupe_key))
    return list(session.execute(stmt).scalars())


# -- delivery states --------------------------------------------------------------------------------
def due_for_enqueue(session: Session, limit: int = 200) -> list[tuple[int, str]]:
    """(id, status) of the rows to enqueue: pending or deferred ones now due, and claims whose
    lease expired (a worker that died). Plain columns: the relay reads this every tick."""
    t = now()
    stmt = select(NotificationRow.id, NotificationRow.status).where(or_(
        NotificationRow.status.in_(("pending", "deferred"))
        & or_(NotificationRow.not_before.is_(None), NotificationRow.not_before <= t),
        (NotificationRow.status == "sending") & (NotificationRow.sending_at < t - outbox.SENDING_LEASE),
    )).order_by(NotificationRow.id).limit(limit)
    return [(i, st) for i, st in session.execute(stmt)]


def enqueued_ids(session: Session, older_than: timedelta) -> list[int]:
    return list(session.execute(select(NotificationRow.id).where(
        NotificationRow.status == "enqueued", NotificationRow.enqueued_at < now() - older_than)).scalars())


def mark_enqueued(session: Session, note_id: int) -> None:
    session.execute(update(NotificationRow).where(NotificationRow.id == note_id,
                                                  NotificationRow.status.in_(("pending", "deferred")))
                    .values(status="enqueued", enqueued_at=now()))


def back_to_pending(session: Session, note_id: int) -> None:
    """Redis lost the job of an enqueued row: the relay enqueues it again."""
    session.execute(update(NotificationRow).where(NotificationRow.id == note_id, NotificationRow.status == "enqueued")
                    .values(status="pending"))


def claim(session: Session, note_id: int) -> NotificationRow | None:
    """Take the row for one attempt; None when sent, failed, not due, or held by a live attempt."""
    row = session.get(NotificationRow, note_id, with_for_update=True)
    if row is None or row.status not in ACTIVE:
        return None
    t = now()
    if row.status == "sending" and row.sending_at and row.sending_at > t - outbox.SENDING_LEASE:
        return None
    if row.not_before is not None and row.not_before > t and row.status in ("pending", "deferred"):
        return None  # quiet hours or back-off not over: the relay enqueues it when due
    row.status, row.sending_at, row.attempts = "sending", t, row.attempts + 1
    return row


def mark_sent(session: Session, note_id: int) -> None:
    row = session.get(NotificationRow, note_id)
    row.status, row.sent_at, row.last_error, row.not_before = "sent", now(), None, None


def fail(session: Session, note_id: int, error: str) -> None:
    row = session.get(NotificationRow, note_id)
    row.status, row.last_error = "failed", error[:300]


def retry_later(session: Session, note_id: int, error: str, delay: float) -> str:
    """Back to pending after a transient failure; failed for good after MAX_ATTEMPTS tries."""
    row = session.get(NotificationRow, note_id)
    row.last_error = error[:300]
    if row.attempts >= MAX_ATTEMPTS:
        row.status = "failed"
    else:
        row.status, row.not_before = "pending", now() + timedelta(seconds=delay)
    return row.status


def note_of(row: NotificationRow) -> Note:
    return Note(subject=row.subject, text=row.text, link=row.link, urgent=row.urgent, key=f"notify-{row.id}")


def as_dict(row: NotificationRow) -> dict:
    def iso(d: datetime | None) -> str | None:
        return d.isoformat() if d else None

    return {"id": row.id, "kind": row.kind, "channel": row.channel, "case_id": row.case_id,
            "subject": row.subject, "text": row.text, "link": row.link, "urgent": row.urgent,
            "status": row.status, "standing_in_for": row.standing_in_for, "created_at": iso(row.created_at),
            "sent_at": iso(row.sent_at), "read_at": iso(row.read_at), "not_before": iso(row.not_before),
            "last_error": row.last_error}
