"""The regulated human actions on a case beyond routing, drafting and approval, one function each.

Each goes through `access.case_for` (who may, in scope, on this profile and channel) and then the
pure lifecycle (`cases._apply`, which audits it), or, for what is not a lifecycle step (the
location), writes its own audit entry:

- shorten the answer term (000 §10, §18; 001 §8; 000 прил. 2 §2.6 the fast-track term);
- agree the final term of a high-importance case (002 §13: answers the watcher's `term_needed`);
- name the responsible executor (000 §19, 001 §16, 002 §14, 003 §12);
- a co-executor's input, kept as a draft of kind `coexecutor_input` for the responsible one, who
  then submits the joint answer as an ordinary draft (000 §19, 001 §16, 002 §14, 003 §12);
- the «Камчатка в порядке» repeat decision within one working day (000 прил. 2 §2.9);
- importance and location;
- close as not processed, or as forwarded to another body (with that body's name).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from otklik.actor import Actor
from otklik.exceptions import InvalidTransition
from otklik.services import access
from otklik.services.cases import _apply
from storage import audit
from storage.tables import CaseRow, DraftRow, now

MAX_LOCATION = 300
MAX_PLACES = 20


def _aware(value: datetime, row: CaseRow) -> datetime:
    """A time without an offset is the municipality's local time (as the lifecycle reads it)."""
    if value.tzinfo is not None:
        return value
    from regulation.profiles import load_profile

    return load_profile(row.profile).calendar.local(value)


def shorten_term(session: Session, actor: Actor, case_id: int, *, answer_by: datetime) -> CaseRow:
    permit = access.case_for(session, actor, case_id, "set_term")
    _apply(session, permit.case, "set_term", actor=actor, role=permit.role,
           answer_by=_aware(answer_by, permit.case))
    return permit.case


def set_final_term(session: Session, actor: Actor, case_id: int, *, final_by: datetime) -> CaseRow:
    permit = access.case_for(session, actor, case_id, "set_final_term")
    _apply(session, permit.case, "set_final_term", actor=actor, role=permit.role,
           final_by=_aware(final_by, permit.case))
    return permit.case


def set_responsible(session: Session, actor: Actor, case_id: int, *, responsible: str) -> CaseRow:
    permit = access.case_for(session, actor, case_id, "set_responsible")
    _apply(session, permit.case, "set_responsible", actor=actor, role=permit.role, responsible=responsible)
    return permit.case


def coexecutor_input(session: Session, actor: Actor, case_id: int, *, text: str,
                     department: str | None = None) -> DraftRow:
    """A co-executor delivers its part. An executor acts for its own co-executor department; the
    curator names the department it enters the input for."""
    if not text.strip():
        raise InvalidTransition("a co-executor's input needs its text")
    permit = access.case_for(session, actor, case_id, "coexecutor_input")
    row = permit.case
    waiting = [m["department"] for m in (row.record.get("coexecutors") or []) if not m.get("delivered")]
    if permit.role == "executor":
        mine = [d for d in waiting if d in permit.scope.departments]
        if department is None and mine:
            department = mine[0]
        if department not in mine:
            raise access.Refused(f"your department is not a co-executor waiting on case {case_id}",
                                 actor=actor, action="coexecutor_input", entity_id=case_id, reason="assignment")
    elif department is None:
        raise InvalidTransition(f"name the co-executor department ({', '.join(waiting) or 'none waiting'})")
    _apply(session, row, "coexecutor_input", actor=actor, role=permit.role, department=department)
    draft = DraftRow(case_id=row.id, kind="coexecutor_input", text=text, author=actor.login, status="input",
                     quality=[], comment=department, created_at=now())
    session.add(draft)
    session.flush()
    return draft


def decide_repeat(session: Session, actor: Actor, case_id: int, *, repeat_of: int | None) -> CaseRow:
    """Whether the message repeats an earlier one (None: it does not)."""
    permit = access.case_for(session, actor, case_id, "decide_repeat")
    if repeat_of is not None and (repeat_of == case_id or session.get(CaseRow, repeat_of) is None):
        raise InvalidTransition(f"no earlier case {repeat_of}")
    _apply(session, permit.case, "decide_repeat", actor=actor, role=permit.role, repeat_of=repeat_of)
    return permit.case


def set_importance(session: Session, actor: Actor, case_id: int, *, importance: str) -> CaseRow:
    permit = access.case_for(session, actor, case_id, "set_importance")
    if permit.case.importance != importance:  # the console sends the form's value unchanged, too
        _apply(session, permit.case, "set_importance", actor=actor, role=permit.role, importance=importance)
    return permit.case


def set_location(session: Session, actor: Actor, case_id: int, *, location: str | list[str]) -> CaseRow:
    """The places the message is about, as the curator reads them (the router's guess replaced): one
    name (API, CLI) or the console's list, one place a line («ул. Ленина, д. 5»)."""
    one = isinstance(location, str)
    names = [n.strip() for n in ([location] if one else location) if n and n.strip()]
    if (one and not names) or any(len(n) > MAX_LOCATION for n in names):
        raise InvalidTransition(f"a location is 1 to {MAX_LOCATION} characters")
    if len(names) > MAX_PLACES:
        raise InvalidTransition(f"at most {MAX_PLACES} places")
    row = access.case_for(session, actor, case_id, "set_location").case
    before = [loc.get("name") for loc in row.location or []]
    if names == before:
        return row
    if row.state in ("accepted", "closed"):
        raise InvalidTransition(f"cannot set the location of a case that is {row.state}")
    kept = {loc.get("name"): loc for loc in row.location or []}
    row.location = [kept.get(n) or {"name": n, "kind": "manual"} for n in names]
    row.updated_at = now()
    audit.append(session, actor=actor.login, action="set_location", entity="case", entity_id=row.id,
                 data={"from": before, "to": names})
    return row


def close(session: Session, actor: Actor, case_id: int, *, reason: str, comment: str = "",
          forwarded_to: str | None = None) -> CaseRow:
    """Close as not processed (a reason of regulation.actions.CLOSE_REASONS), or as forwarded to another body
    (reason `forwarded`, `forwarded_to` names the body); the lifecycle checks both."""
    permit = access.case_for(session, actor, case_id, "close")
    _apply(session, permit.case, "close", actor=actor, role=permit.role, reason=reason, comment=comment,
           forwarded_to=forwarded_to)
    return permit.case


def inputs(session: Session, case_id: int) -> list[dict[str, Any]]:
    """The co-executors' inputs of a case (already scoped by the caller)."""
    rows = session.execute(select(DraftRow).where(DraftRow.case_id == case_id, DraftRow.kind == "coexecutor_input")
                           .order_by(DraftRow.id)).scalars()
    return [{"department": d.comment, "text": d.text, "author": d.author, "at": d.created_at.isoformat()}
            for d in rows]
