"""Full-text search over message texts and answers (drafts), with filters, in the actor's scope.

PostgreSQL: Russian text search (`to_tsvector('russian', …) @@ plainto_tsquery('russian', …)`,
GIN-indexed by migration 0004_console). SQLite, the embedded default: the FTS5 table `case_search`
(same migration); FTS5 has no Russian stemmer, so each word longer than four letters is matched
as a prefix of its stem-ish start («фонари» finds «фонарь», «фонарей»)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from otklik.actor import Actor
from otklik.services import access
from otklik.services.inbox import Filters, as_row, department_names, filtered, row_columns
from regulation.profiles import load_profile
from storage.tables import CaseRow, DraftRow, MessageRow, now

LIMIT = 100
MAX_QUERY = 200
WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Period:
    first: date | None = None  # the municipality's dates, both ends included
    last: date | None = None


def fts5_query(q: str) -> str:
    """A safe FTS5 MATCH expression: words only (no operators from the user), all required."""
    terms = []
    for word in WORD.findall(q.lower())[:20]:
        if len(word) > 4:
            terms.append(f'"{word[: max(4, len(word) - 2)]}"*')
        else:
            terms.append(f'"{word}"')
    return " AND ".join(terms)


def _matches(session: Session, q: str):
    """A condition on CaseRow: its message or any of its drafts matches `q`. On PostgreSQL the
    expressions are exactly those of the GIN indexes (migration 0004_console), so the matching
    message and draft ids come from the indexes; a message matches through the unique
    cases.message_id instead of a second pass over the wide cases table."""
    if session.get_bind().dialect.name == "postgresql":
        query = func.plainto_tsquery("russian", q)
        by_message = select(MessageRow.id).where(func.to_tsvector("russian", MessageRow.text).op("@@")(query))
        by_draft = select(DraftRow.case_id).where(func.to_tsvector("russian", DraftRow.text).op("@@")(query))
        return or_(CaseRow.message_id.in_(by_message), CaseRow.id.in_(by_draft))
    return CaseRow.id.in_(select(text("case_id")).select_from(text("case_search")).where(
        text("case_search MATCH :q").bindparams(q=fts5_query(q))))


def _utc_bounds(profile: str, period: Period) -> tuple[datetime | None, datetime | None]:
    tz = load_profile(profile).calendar.tz
    start = datetime.combine(period.first, time(0), tz) if period.first else None
    end = datetime.combine(period.last + timedelta(days=1), time(0), tz) if period.last else None
    return start, end


def search(session: Session, actor: Actor, q: str, filters: Filters | None = None, period: Period | None = None,
           *, profile: str = "severny", limit: int = LIMIT) -> list[dict[str, Any]]:
    """Cases in scope whose message or answer matches `q` (any filters may be empty), newest first."""
    sc = access.require(session, actor, "read", entity="cases")
    q = (q or "").strip()[:MAX_QUERY]
    # First the ids of the newest `limit` matches (narrow rows to sort), then those rows in full:
    # sorting thousands of matches with their messages' texts and records was most of the time.
    stmt = access.visible_cases(select(CaseRow.id).join(MessageRow, MessageRow.id == CaseRow.message_id), sc)
    stmt = filtered(stmt, filters or Filters())
    if q:
        if not WORD.search(q):
            return []
        stmt = stmt.where(_matches(session, q))
    start, end = _utc_bounds(profile, period or Period())
    if start is not None:
        stmt = stmt.where(MessageRow.created_at >= start)  # when the citizen wrote
    if end is not None:
        stmt = stmt.where(MessageRow.created_at < end)
    ids = list(session.execute(stmt.order_by(CaseRow.created_at.desc(), CaseRow.id.desc()).limit(limit)).scalars())
    if not ids:
        return []
    rows = session.execute(select(CaseRow, MessageRow).join(MessageRow, MessageRow.id == CaseRow.message_id)
                           .where(CaseRow.id.in_(ids)).options(*row_columns())
                           .order_by(CaseRow.created_at.desc(), CaseRow.id.desc())).all()
    t = now()
    names = department_names(session)
    return [as_row(case, msg, t, names) for case, msg in rows]
