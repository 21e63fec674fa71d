"""Figures for /healthz and /metrics read from the database, so that every daemon (and a standby)
reports the same truth whichever process did the work: the pipeline's backlog, open and overdue
cases per department (the SLA gauge), and deliveries by status and platform."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from otklik.services.cases import ANSWERED_STATES
from storage.tables import CaseRow, MessageRow, OutboxRow, now

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
    if oldest is not None and oldest.tzinfo is None:  # SQLite hands aggregates back without a zone
        from datetime import UTC

        oldest = oldest.replace(tzinfo=UTC)
    age = max(0.0, ((at or now()) - oldest).total_seconds()) if oldest is not None else None
    return Backlog(count, round(age, 1) if age is not None else None)


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
