"""The inbox: the cases in the actor's scope with their message, nearest deadline first, filtered.
For the console's inbox page and its live feed; scope is decided by `access`, as for every read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from otklik.actor import Actor
from otklik.services import access
from storage.tables import CaseAssignmentRow, CaseRow, MessageRow, now

LIMIT = 200
SNIPPET = 180  # characters of the message shown in a row


@dataclass(frozen=True)
class Filters:
    state: str | None = None
    importance: str | None = None
    topic_group: str | None = None
    department: str | None = None  # held now by this department (narrows, never widens the scope)
    source: str | None = None


def filtered(stmt: Select, f: Filters) -> Select:
    if f.state:
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


def as_row(case: CaseRow, msg: MessageRow, t: datetime, names: dict[str, str] | None = None) -> dict[str, Any]:
    text = msg.text or ""
    names = names or {}
    return {"id": case.id, "state": case.state, "importance": case.importance, "topic_group": case.topic_group,
            "topic": case.topic, "executors": list(case.executors or []),
            "executor_names": [names.get(e, e) for e in case.executors or []], "needs_manual": case.needs_manual,
            "answer_by": case.answer_by, "created_at": case.created_at, "source": msg.source,
            "snippet": text[:SNIPPET] + ("…" if len(text) > SNIPPET else ""),
            "seconds_left": None if case.answer_by is None else int((case.answer_by - t).total_seconds())}


def listing(session: Session, actor: Actor, filters: Filters | None = None, *, limit: int = LIMIT,
            after_id: int | None = None) -> list[dict[str, Any]]:
    """Cases in scope, nearest deadline first (those without a deadline last). `after_id`: only
    cases opened after that one (the live feed's question: what is new?)."""
    sc = access.require(session, actor, "read", entity="cases")
    stmt = access.visible_cases(select(CaseRow, MessageRow).join(MessageRow, MessageRow.id == CaseRow.message_id), sc)
    stmt = filtered(stmt, filters or Filters())
    if after_id is not None:
        stmt = stmt.where(CaseRow.id > after_id)
    stmt = stmt.order_by(CaseRow.answer_by.is_(None), CaseRow.answer_by, CaseRow.id).limit(limit)
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
