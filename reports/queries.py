"""The storage side of reports: the facts of the cases received in a period, as the actor may see
them (otklik.services.access decides the scope, as for every other read), in a handful of queries
(no query per case: a quarter of 100,000 cases is read in seconds)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import Select, select
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


def _dt(value) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    out = datetime.fromisoformat(value)
    return out if out.tzinfo else out.replace(tzinfo=UTC)


def _cases(session: Session, ids: Select) -> dict[int, CaseFacts]:
    stmt = (select(CaseRow.id, MessageRow.source, CaseRow.topic_group, CaseRow.topic, CaseRow.state,
                   CaseRow.channel, CaseRow.created_at, CaseRow.record, CaseRow.location, MessageRow.engagement)
            .join(MessageRow, MessageRow.id == CaseRow.message_id).where(CaseRow.id.in_(ids)))
    out: dict[int, CaseFacts] = {}
    for part in session.execute(stmt.execution_options(yield_per=CHUNK)).partitions():
        for cid, src, group, topic, state, channel, created, record, location, engagement in part:
            record = record or {}
            dl = record.get("deadlines") or {}
            ms = record.get("milestones") or {}
            ratings = [f["rating"] for f in record.get("feedback_history") or () if f.get("rating") is not None]
            out[cid] = CaseFacts(
                id=cid, source=src, topic_group=group, topic=topic, state=state, channel=channel,
                identified_at=_dt(dl.get("identified_at")) or created,
                answer_by=_dt(record.get("shortened_to")) or _dt(dl.get("answer_by")),
                routed_at=_dt(ms.get("routed_at")), submitted_at=_dt(ms.get("submitted_at")),
                approved_at=_dt(ms.get("approved_at")), published_at=_dt(ms.get("published_at")),
                intermediate_at=_dt(ms.get("intermediate_at") or record.get("intermediate_at")),
                outcome=record.get("outcome"), ratings=ratings, reopened=int(record.get("reopened") or 0),
                repeat_of=record.get("repeat_of"), engagement=engagement or 0,
                places=[loc["name"] for loc in location or () if isinstance(loc, dict) and loc.get("name")])
    return out


def _add_departments(session: Session, ids: Select, cases: dict[int, CaseFacts]) -> None:
    stmt = (select(CaseAssignmentRow.case_id, CaseAssignmentRow.department)
            .where(CaseAssignmentRow.case_id.in_(ids)).order_by(CaseAssignmentRow.id))
    for cid, dept in session.execute(stmt):
        facts = cases.get(cid)
        if facts is not None and dept not in facts.departments:
            facts.departments.append(dept)


def _add_drafts(session: Session, ids: Select, cases: dict[int, CaseFacts]) -> None:
    stmt = select(DraftRow.case_id, DraftRow.status, DraftRow.quality).where(DraftRow.case_id.in_(ids))
    for cid, status, quality in session.execute(stmt.execution_options(yield_per=CHUNK)):
        facts = cases.get(cid)
        if facts is None:
            continue
        facts.drafts_returned += status == "returned"
        facts.quality_flags.extend(q.get("code", "?") for q in quality or () if isinstance(q, dict))


def _add_photos(session: Session, ids: Select, cases: dict[int, CaseFacts]) -> None:
    stmt = (select(OutboxRow.case_id, OutboxRow.reply)
            .where(OutboxRow.case_id.in_(ids), OutboxRow.status == "posted"))
    for cid, reply in session.execute(stmt.execution_options(yield_per=CHUNK)):
        if cid in cases and (reply or {}).get("attachments"):
            cases[cid].photos = True


def _counts(session: Session, ids: Select) -> list[CaseFacts]:
    """The previous period: only what the change in counts needs."""
    stmt = (select(CaseRow.id, MessageRow.source, CaseRow.topic_group, CaseRow.created_at)
            .join(MessageRow, MessageRow.id == CaseRow.message_id).where(CaseRow.id.in_(ids)))
    return [CaseFacts(id=cid, source=src, topic_group=group, topic=None, state="", channel="", identified_at=at)
            for cid, src, group, at in session.execute(stmt)]


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


def by_department(cases: list[CaseFacts]) -> dict[str, list[CaseFacts]]:
    out: dict[str, list[CaseFacts]] = defaultdict(list)
    for c in cases:
        for d in c.departments or ["—"]:
            out[d].append(c)
    return dict(out)
