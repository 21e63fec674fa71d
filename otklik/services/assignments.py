"""The history of who had a case: one row per department and role, opened when a step gives the
case to it and closed when a step takes it away (route, re-route, return, a new responsible).
Written by `cases._apply` after every step, so no path that changes the executors can skip it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from regulation.case import CaseRecord
from storage.tables import CaseAssignmentRow


def holders(record: CaseRecord) -> set[tuple[str, str]]:
    """(department, responsible | co) for each executor of the record."""
    return {(d, "responsible" if d == record.responsible else "co") for d in record.executors}


def sync(session: Session, case_id: int, record: CaseRecord, at: datetime) -> set[str]:
    """Close and open assignment rows; returns the departments this step gave the case to."""
    current = {(a.department, a.role): a for a in session.execute(
        select(CaseAssignmentRow).where(CaseAssignmentRow.case_id == case_id,
                                        CaseAssignmentRow.unassigned_at.is_(None))).scalars()}
    wanted = holders(record)
    for key, row in current.items():
        if key not in wanted:
            row.unassigned_at = at
    held_before = {dept for dept, _ in current}
    for dept, role in sorted(wanted - current.keys()):
        session.add(CaseAssignmentRow(case_id=case_id, department=dept, role=role, assigned_at=at))
    return {dept for dept, _ in wanted} - held_before


def history(session: Session, case_id: int) -> list[CaseAssignmentRow]:
    return list(session.execute(select(CaseAssignmentRow).where(CaseAssignmentRow.case_id == case_id)
                                .order_by(CaseAssignmentRow.id)).scalars())
