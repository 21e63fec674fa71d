"""Figures for /healthz and /metrics read from the database, so that every daemon (and a standby)
reports the same truth whichever process did the work: the pipeline's backlog, open and overdue
cases per department (the SLA gauge), deliveries by status and platform, and the staff
notifications' queue (by status and channel, and how long the oldest due note has waited)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from otklik.notify import store
from otklik.services.cases import ANSWERED_STATES
from storage.tables import CaseRow, MessageRow, NotificationRow, OutboxRow, now

# Cases not waiting for an answer any more: answered, closed without one, or dropped.
NOT_OPEN = tuple(sorted(ANSWERED_STATES | {"closed", "dropped"}))
UNASSIGNED = "unassigned"  # cases the curator has not routed yet


@dataclass
class Backlog:
    unprocessed: int
    oldest_age_seconds: float | None  # since the oldest unprocessed message was stored


def backlog(s: Session, at: datetime | None = None) -> Backlog:
    count, oldest = s.execute(select(func.count(MessageRow.id), func.min(MessageRow.stored_at))
                              .where(MessageRow.processed.is_(False))).one()
    return Backlog(count, _age(oldest, at))


def _age(oldest: datetime | None, at: datetime | None) -> float | None:
    if oldest is None:
        return None
    if oldest.tzinfo is None:  # SQLite hands aggregates back without a zone
        from datetime import UTC

        oldest = oldest.replace(tzinfo=UTC)
    return round(max(0.0, ((at or now()) - oldest).total_seconds()), 1)


def sla_by_department(s: Session, at: datetime | None = None) -> dict[str, tuple[int, int]]:
    """{department: (open, overdue)}; a case worked by two departments counts in both."""
    t = at or now()
    opened: Counter[str] = Counter()
    overdue: Counter[str] = Counter()
    rows = s.execute(select(CaseRow.executors, CaseRow.answer_by).where(CaseRow.state.not_in(NOT_OPEN)))
    for executors, answer_by in rows:
        for dept in executors or [UNASSIGNED]:
            opened[dept] += 1
            if answer_by is not None and answer_by < t:
                overdue[dept] += 1
    return {d: (opened[d], overdue[d]) for d in opened}


def deliveries(s: Session, platforms: dict[str, str]) -> dict[tuple[str, str], int]:
    """{(status, platform): count} over the outbox; `platforms` maps a source to its platform
    (a source no longer configured counts as "unknown")."""
    out: Counter[tuple[str, str]] = Counter()
    for status, source, n in s.execute(select(OutboxRow.status, OutboxRow.source, func.count())
                                       .group_by(OutboxRow.status, OutboxRow.source)):
        out[(status, platforms.get(source, "unknown"))] += n
    return dict(out)


def notifications(s: Session, statuses: tuple[str, ...] | None = None) -> dict[tuple[str, str], int]:
    """{(status, channel): count} over the staff notifications; `statuses` limits the count to those
    (through the status index: sent notes pile up, the ones still to deliver stay few)."""
    stmt = select(NotificationRow.status, NotificationRow.channel, func.count())
    if statuses is not None:
        stmt = stmt.where(NotificationRow.status.in_(statuses))
    rows = s.execute(stmt.group_by(NotificationRow.status, NotificationRow.channel))
    return {(status, channel): n for status, channel, n in rows}


def notify_oldest_due(s: Session, at: datetime | None = None) -> float | None:
    """Seconds the oldest undelivered note has been due: since it was written, or since its quiet
    hours / back-off ended (`not_before`). A note still inside its quiet hours is not late."""
    t = at or now()
    due_since = case((NotificationRow.not_before.is_(None), NotificationRow.created_at),
                     else_=NotificationRow.not_before)
    oldest = s.execute(select(func.min(due_since)).where(
        NotificationRow.status.in_(store.ACTIVE),
        or_(NotificationRow.not_before.is_(None), NotificationRow.not_before <= t))).scalar_one()
    return _age(oldest, t)
