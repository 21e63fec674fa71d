"""People who are away and people who leave (000 §9, 001 §7).

- Who works a case now: the executors of the departments that hold it, each replaced by its
  substitute on the days it is away (`otklik users substitute`), so the assignment goes to someone
  who is at work.
- A dismissal: the user's access ends and the curator is told by a notice (an alert row the curator
  and the head read, audited) with the regulated term: 000 §9 gives the department head 3 calendar
  days from the dismissal order to tell the curator; the notice says whether that was kept.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from otklik import alerts
from otklik.actor import Actor
from otklik.exceptions import InvalidTransition, NotFound
from otklik.services import access
from regulation.profiles import load_profile
from storage import audit
from storage.tables import CaseAssignmentRow, SubstituteRow, UserRow, now


def _executors(session: Session, departments: list[str]) -> list[UserRow]:
    rows = session.execute(select(UserRow).where(UserRow.department.in_(departments), UserRow.active.is_(True))
                           .order_by(UserRow.login)).scalars()
    return [u for u in rows if "executor" in {u.role, *(u.roles or ())}]


def working_on(session: Session, case_id: int, today: date | None = None) -> list[dict[str, Any]]:
    """The people who work the case today: each executor of a department holding it, or its
    substitute while it is away (`for` names the one stood in for)."""
    held = list(session.execute(select(CaseAssignmentRow.department).where(
        CaseAssignmentRow.case_id == case_id, CaseAssignmentRow.unassigned_at.is_(None))).scalars())
    if not held:
        return []
    today = today or access.local_today()
    away = {r.absent_login: r.substitute_login for r in session.execute(select(SubstituteRow).where(
        SubstituteRow.starts_on <= today, SubstituteRow.ends_on >= today).order_by(SubstituteRow.id)).scalars()}
    out: list[dict[str, Any]] = []
    for user in _executors(session, held):
        if user.login in away:
            out.append({"login": away[user.login], "department": user.department, "for": user.login})
        else:
            out.append({"login": user.login, "department": user.department, "for": None})
    return out


def dismiss(session: Session, actor: Actor | str, login: str, *, dismissed_on: date, profile: str,
            at: datetime | None = None) -> dict[str, Any]:
    """Record a dismissal (the order's date): access ends, the curator's notice is stored."""
    from otklik.api import auth

    if isinstance(actor, Actor):
        access.require(session, actor, "manage_directory", entity="user", entity_id=login)
    who = actor.login if isinstance(actor, Actor) else actor
    user = session.execute(select(UserRow).where(UserRow.login == login)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {login}")
    at = at or now()
    prof = load_profile(profile)
    cal = prof.calendar
    if dismissed_on > cal.local(at).date():
        raise InvalidTransition("a dismissal is recorded from its order, on or after its date")
    term = prof.staff.dismissal_notice
    notice_by = term.add(cal, cal.local(datetime.combine(dismissed_on, time(0)))) if term else None
    late = notice_by is not None and at > notice_by
    if user.active:
        auth.deactivate(session, login, by=who, at=at)
    substitutions = session.execute(select(SubstituteRow).where(
        SubstituteRow.substitute_login == login, SubstituteRow.ends_on >= dismissed_on)).scalars().all()
    data = {"login": login, "department": user.department, "dismissed_on": dismissed_on.isoformat(),
            "notice_by": notice_by.isoformat() if notice_by else None, "late": late,
            "clause": term.clause if term else None, "stands_in_for": sorted({s.absent_login for s in substitutions})}
    text = (f"Уволен сотрудник {login}" + (f" ({user.department})" if user.department else "")
            + f" приказом от {dismissed_on:%d.%m.%Y}.")
    if notice_by is not None:
        text += (f" Куратор должен быть уведомлён до {cal.local(notice_by):%d.%m.%Y %H:%M %z}"
                 f" ({term.clause})" + (": срок пропущен." if late else "."))
    if data["stands_in_for"]:
        text += f" Он замещал: {', '.join(data['stands_in_for'])} — назначьте другого заместителя."
    alerts.add(session, "dismissal", text, data, at=at)  # stored, and the curators told (otklik.notify)
    audit.append(session, actor=who, action="user_dismissed", entity="user", entity_id=user.id, data=data)
    return data
