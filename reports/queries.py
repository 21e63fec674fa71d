"""The storage side of reports: the facts of the cases received in a period, as the actor may see
them (otklik.services.access decides the scope, as for every other read), in a handful of queries
(no query per case: a quarter of 100,000 cases is read in seconds)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import TIMESTAMP, Select, Text, cast, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from otklik.actor import Actor
from otklik.services import access
from reports.facts import CaseFacts, DroppedFacts, Facts
from storage.tables import CaseAssignmentRow, CaseRow, DraftRow, MessageRow, OutboxRow, VerdictRow

CHUNK = 20_000  # rows per fetch: keeps memory flat on big periods


def load(session: Session, actor: Actor, start: datetime, end: datetime, *, department: str | None = None,
         source: str | None = None) -> Facts:
    """Facts of the cases received in [start, end) that `actor` may read, narrowed to one
    department (every case it had) and/or one source; and of the period just before, for the change."""
    sc = access.require(session, actor, "read", entity="report")
    ids = _case_ids(start, end, sc, department, source)
    cases = _cases(session, ids)
    _add_departments(session, ids, cases)
    _add_drafts(session, ids, cases)
    _add_photos(session, ids, cases)
    previous = _counts(session, _case_ids(start - (end - start), start, sc, department, source))
    dropped = None
    if department is None and sc.roles & access.allowed_roles("read_dropped"):
        dropped = _dropped(session, start, end, source)
    return Facts(cases=list(cases.values()), dropped=dropped, previous=previous)


def _case_ids(start: datetime, end: datetime, sc: access.Scope, department: str | None,
              source: str | None) -> Select:
    stmt = select(CaseRow.id).where(CaseRow.created_at >= start, CaseRow.created_at < end)
    if source:
        stmt = stmt.join(MessageRow, MessageRow.id == CaseRow.message_id).where(MessageRow.source == source)
    if department:
        had = select(CaseAssignmentRow.case_id).where(CaseAssignmentRow.department == department)
        stmt = stmt.where(CaseRow.id.in_(had))
    return access.visible_cases(stmt, sc)


def _epoch(expr, dialect: str):
    """POSIX seconds of an ISO 8601 string or a timestamp column, computed by the database."""
    if dialect == "postgresql":
        return func.extract("epoch", cast(expr, TIMESTAMP(timezone=True)))
    return (func.julianday(expr) - 2440587.5) * 86400.0  # SQLite reads the "+07:00" offset itself


def _cases(session: Session, ids: Select) -> dict[int, CaseFacts]:
    dialect = session.get_bind().dialect.name
    # PostgreSQL's json type re-parses the whole document for every operator: parse it once per row
    # into jsonb, in a subquery OFFSET 0 keeps the planner from inlining (and repeating) the cast.
    inner = select(CaseRow.id, CaseRow.message_id, CaseRow.topic_group, CaseRow.topic, CaseRow.state,
                   CaseRow.channel, CaseRow.created_at, CaseRow.location,
                   (cast(CaseRow.record, JSONB) if dialect == "postgresql" else CaseRow.record).label("r")
                   ).where(CaseRow.id.in_(ids))
    c = (inner.offset(0) if dialect == "postgresql" else inner).subquery()
    rec = c.c.r

    def moment(*path: str):
        return _epoch(rec[path].as_string(), dialect)

    stmt = (select(c.c.id, MessageRow.source, c.c.topic_group, c.c.topic, c.c.state, c.c.channel,
                   func.coalesce(moment("deadlines", "identified_at"), _epoch(c.c.created_at, dialect)),
                   func.coalesce(moment("shortened_to"), moment("deadlines", "answer_by")),
                   moment("milestones", "routed_at"), moment("milestones", "submitted_at"),
                   moment("milestones", "approved_at"), moment("milestones", "published_at"),
                   func.coalesce(moment("milestones", "intermediate_at"), moment("intermediate_at")),
                   rec[("outcome",)].as_string(), rec[("reopened",)].as_string(), rec[("repeat_of",)].as_string(),
                   rec[("feedback_history",)].as_string(), cast(c.c.location, Text), MessageRow.engagement)
            .join(MessageRow, MessageRow.id == c.c.message_id).order_by(c.c.id))
    out: dict[int, CaseFacts] = {}
    # Core, not ORM rows, and JSON as text parsed only where not empty: this loop meets every case.
    for part in session.connection().execute(stmt.execution_options(yield_per=CHUNK)).partitions():
        for (cid, src, group, topic, state, channel, identified, answer_by, routed, submitted, approved, published,
             intermediate, outcome, reopened, repeat_of, feedback, location, engagement) in part:
            out[cid] = CaseFacts(
                id=cid, source=src, topic_group=group, topic=topic, state=state, channel=channel,
                identified_at=float(identified), answer_by=_f(answer_by), routed_at=_f(routed),
                submitted_at=_f(submitted), approved_at=_f(approved), published_at=_f(published),
                intermediate_at=_f(intermediate), outcome=outcome or None,
                ratings=_ratings(feedback),
                reopened=int(reopened or 0), repeat_of=int(repeat_of) if repeat_of not in (None, "", "null") else None,
                engagement=engagement or 0,
                places=_places(location))
    return out


def _json_list(text: str | None) -> list:
    if not text or text in ("[]", "null"):
        return []
    value = json.loads(text)
    return value if isinstance(value, list) else []


def _ratings(text: str | None) -> list[int]:
    return [f["rating"] for f in _json_list(text) if isinstance(f, dict) and isinstance(f.get("rating"), int)]


def _places(text: str | None) -> list[str]:
    return [loc["name"] for loc in _json_list(text) if isinstance(loc, dict) and isinstance(loc.get("name"), str)]


def _f(value) -> float | None:
    return None if value is None else float(value)


def _add_departments(session: Session, ids: Select, cases: dict[int, CaseFacts]) -> None:
    stmt = (select(CaseAssignmentRow.case_id, CaseAssignmentRow.department)
            .where(CaseAssignmentRow.case_id.in_(ids)).order_by(CaseAssignmentRow.id))
    for cid, dept in session.connection().execute(stmt):
        facts = cases.get(cid)
        if facts is not None and dept not in facts.departments:
            facts.departments.append(dept)


def _add_drafts(session: Session, ids: Select, cases: dict[int, CaseFacts]) -> None:
    stmt = select(DraftRow.case_id, DraftRow.status, DraftRow.quality).where(
        DraftRow.case_id.in_(ids), (DraftRow.status == "returned") | (cast(DraftRow.quality, Text) != "[]"))
    for cid, status, quality in session.connection().execute(stmt.execution_options(yield_per=CHUNK)):
        facts = cases.get(cid)
        if facts is None:
            continue
        facts.drafts_returned += status == "returned"
        facts.quality_flags.extend(q.get("code", "?") for q in quality or () if isinstance(q, dict))


def _add_photos(session: Session, ids: Select, cases: dict[int, CaseFacts]) -> None:
    # Only the attachments, as JSON text: the reply's text is no business of a report.
    stmt = (select(OutboxRow.case_id, OutboxRow.reply[("attachments",)].as_string())
            .where(OutboxRow.case_id.in_(ids), OutboxRow.status == "posted"))
    for cid, attachments in session.connection().execute(stmt.execution_options(yield_per=CHUNK)):
        if cid in cases and attachments not in (None, "", "[]", "null"):
            cases[cid].photos = True


def _counts(session: Session, ids: Select) -> list[CaseFacts]:
    """The previous period: only what the change in counts needs."""
    stmt = (select(CaseRow.id, MessageRow.source, CaseRow.topic_group, CaseRow.created_at)
            .join(MessageRow, MessageRow.id == CaseRow.message_id).where(CaseRow.id.in_(ids)))
    return [CaseFacts(id=cid, source=src, topic_group=group, topic=None, state="", channel="", identified_at=0.0)
            for cid, src, group, _ in session.connection().execute(stmt)]


def _dropped(session: Session, start: datetime, end: datetime, source: str | None) -> list[DroppedFacts]:
    stmt = (select(VerdictRow.message_id, MessageRow.source, VerdictRow.decided_at, VerdictRow.reasons,
                   VerdictRow.overruled_by, VerdictRow.decision)
            .join(MessageRow, MessageRow.id == VerdictRow.message_id)
            .where(MessageRow.created_at >= start, MessageRow.created_at < end)
            .where((VerdictRow.decision == "drop") | VerdictRow.overruled_by.is_not(None)))
    if source:
        stmt = stmt.where(MessageRow.source == source)
    return [DroppedFacts(message_id=mid, source=src, at=at, reasons=list(reasons or []), overruled=bool(by))
            for mid, src, at, reasons, by, _ in session.execute(stmt)]
