"""The inbox: the cases in the actor's scope with their message, nearest deadline first, filtered.
For the console's inbox page and its live feed; scope is decided by `access`, as for every read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session, load_only

from otklik.actor import Actor
from otklik.services import access
from storage.tables import CaseAssignmentRow, CaseRow, MessageRow, now

PAGE = 50  # rows per inbox page ("next" links for the rest)
FEED_LIMIT = 200  # new rows the live feed sends per look
# Shown by default: the cases still worked on. Answered and closed ones are reached with the state
# filter (or "all"). The partial index ix_cases_inbox (migration 0005_perf) has exactly this predicate.
DONE_STATES = ("published", "awaiting_feedback", "accepted", "closed")
ALL_STATES = "all"  # the state filter's value for every state
SNIPPET = 180  # characters of the message shown in a row


@dataclass(frozen=True)
class Filters:
    state: str | None = None
    importance: str | None = None
    topic_group: str | None = None
    department: str | None = None  # held now by this department (narrows, never widens the scope)
    source: str | None = None


def filtered(stmt: Select, f: Filters) -> Select:
    if f.state and f.state != ALL_STATES:
        stmt = stmt.where(CaseRow.state == f.state)
    if f.importance:
        stmt = stmt.where(CaseRow.importance == f.importance)
    if f.topic_group:
        stmt = stmt.where(CaseRow.topic_group == f.topic_group)
    if f.source:
        stmt = stmt.where(MessageRow.source == f.source)
    if f.department:
        stmt = stmt.where(CaseRow.id.in_(select(CaseAssignmentRow.case_id).where(
            CaseAssignmentRow.department == f.department, CaseAssignmentRow.unassigned_at.is_(None))))
    return stmt


def department_names(session: Session) -> dict[str, str]:
    """id -> name of every department (a short directory: read whole)."""
    from storage.tables import DepartmentRow

    return dict(session.execute(select(DepartmentRow.id, DepartmentRow.name)).all())


def row_columns() -> tuple:
    """Loader options: only the columns a row shows (a case's record and a message's raw payload
    are the bulk of their rows and are not shown in a list)."""
    return (load_only(CaseRow.id, CaseRow.state, CaseRow.importance, CaseRow.topic_group, CaseRow.topic,
                      CaseRow.executors, CaseRow.needs_manual, CaseRow.answer_by, CaseRow.created_at),
            load_only(MessageRow.id, MessageRow.source, MessageRow.text))


def as_row(case: CaseRow, msg: MessageRow, t: datetime, names: dict[str, str] | None = None) -> dict[str, Any]:
    text = msg.text or ""
    names = names or {}
    return {"id": case.id, "state": case.state, "importance": case.importance, "topic_group": case.topic_group,
            "topic": case.topic, "executors": list(case.executors or []),
            "executor_names": [names.get(e, e) for e in case.executors or []], "needs_manual": case.needs_manual,
            "answer_by": case.answer_by, "created_at": case.created_at, "source": msg.source,
            "snippet": text[:SNIPPET] + ("…" if len(text) > SNIPPET else ""),
            "seconds_left": None if case.answer_by is None else int((case.answer_by - t).total_seconds())}


def in_inbox(stmt: Select, f: Filters) -> Select:
    """The inbox's default: without a state filter, the cases still worked on (matches the partial
    index: the same literal list, so PostgreSQL can prove the index's predicate)."""
    if f.state:
        return stmt
    return stmt.where(CaseRow.state.not_in(bindparam("done_states", DONE_STATES, expanding=True,
                                                      literal_execute=True)))


def listing(session: Session, actor: Actor, filters: Filters | None = None, *, limit: int = PAGE,
            offset: int = 0, after_id: int | None = None) -> list[dict[str, Any]]:
    """Cases in scope, nearest deadline first (those without a deadline last), `limit` from `offset`.
    `after_id`: only cases opened after that one (the live feed's question: what is new?)."""
    sc = access.require(session, actor, "read", entity="cases")
    f = filters or Filters()
    stmt = access.visible_cases(select(CaseRow, MessageRow).join(MessageRow, MessageRow.id == CaseRow.message_id)
                                .options(*row_columns()), sc)
    stmt = in_inbox(filtered(stmt, f), f)
    if after_id is not None:
        # The feed: the newest few by id (an index range on the primary key), whatever their deadline.
        stmt = stmt.where(CaseRow.id > after_id).order_by(CaseRow.id).limit(limit)
    else:
        # NULLS LAST on the bare column: the order of the (answer_by, id) index, so the first page is
        # read from the index instead of sorting every case in scope.
        stmt = stmt.order_by(CaseRow.answer_by.asc().nulls_last(), CaseRow.id).offset(max(0, offset)).limit(limit)
    t = now()
    rows = session.execute(stmt).all()
    names = department_names(session) if rows else {}
    return [as_row(case, msg, t, names) for case, msg in rows]


def newest_id(session: Session, actor: Actor) -> int:
    """The newest case id in scope (0 for none): where the live feed starts."""
    sc = access.require(session, actor, "read", entity="cases")
    stmt = access.visible_cases(select(CaseRow.id), sc).order_by(CaseRow.id.desc()).limit(1)
    return session.execute(stmt).scalar() or 0


def choices(session: Session, actor: Actor) -> dict[str, list]:
    """What the filter and routing forms offer: departments (id, name), topic groups with their
    topics (the rubricator), sources seen. Names only: anyone who reads cases may see them."""
    from router.rubricator import load_rubricator
    from storage.tables import DepartmentRow, SourceStateRow

    access.require(session, actor, "read", entity="cases")
    departments = [(d.id, d.name) for d in session.execute(select(DepartmentRow).order_by(DepartmentRow.name)).scalars()]
    groups = [(g.name, [t.name for t in g.topics]) for g in load_rubricator().data.groups]
    sources = list(session.execute(select(SourceStateRow.source).order_by(SourceStateRow.source)).scalars())
    return {"departments": departments, "topic_groups": groups, "sources": sources}
