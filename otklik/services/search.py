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

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from otklik.actor import Actor
from otklik.services import access
from otklik.services.inbox import Filters, as_row, department_names, filtered
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


def _matching_cases(session: Session, q: str):
    """A subquery of case ids whose message or any draft matches `q`."""
    if session.get_bind().dialect.name == "postgresql":
        query = func.plainto_tsquery("russian", q)
        by_message = select(CaseRow.id).join(MessageRow, MessageRow.id == CaseRow.message_id).where(
            func.to_tsvector("russian", MessageRow.text).op("@@")(query))
        by_draft = select(DraftRow.case_id).where(func.to_tsvector("russian", DraftRow.text).op("@@")(query))
        return by_message.union(by_draft)
    return select(text("case_id")).select_from(text("case_search")).where(
        text("case_search MATCH :q").bindparams(q=fts5_query(q)))


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
    stmt = access.visible_cases(select(CaseRow, MessageRow).join(MessageRow, MessageRow.id == CaseRow.message_id), sc)
    stmt = filtered(stmt, filters or Filters())
    if q:
        if not WORD.search(q):
            return []
        stmt = stmt.where(CaseRow.id.in_(_matching_cases(session, q)))
    start, end = _utc_bounds(profile, period or Period())
    if start is not None:
        stmt = stmt.where(MessageRow.created_at >= start)  # when the citizen wrote
    if end is not None:
        stmt = stmt.where(MessageRow.created_at < end)
    stmt = stmt.order_by(CaseRow.created_at.desc(), CaseRow.id.desc()).limit(limit)
    t = now()
    rows = session.execute(stmt).all()
    names = department_names(session) if rows else {}
    return [as_row(case, msg, t, names) for case, msg in rows]
