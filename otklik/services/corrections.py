"""A curator's corrections of what the router decided, beyond topic and executors (cases.route):
the importance (a lifecycle step: deadlines follow it) and the places the message names."""

from __future__ import annotations

from sqlalchemy.orm import Session

from otklik.actor import Actor
from otklik.exceptions import InvalidTransition
from otklik.services import access, cases
from storage import audit
from storage.tables import CaseRow, now

MAX_PLACES = 20


def set_importance(session: Session, actor: Actor, case_id: int, importance: str) -> CaseRow:
    permit = access.case_for(session, actor, case_id, "set_importance")
    if permit.case.importance != importance:
        cases._apply(session, permit.case, "set_importance", actor=actor, role=permit.role, importance=importance)
    return permit.case


def set_location(session: Session, actor: Actor, case_id: int, places: list[str]) -> CaseRow:
    """Replace the places the router found with the curator's list (one name each: «ул. Ленина, д. 5»)."""
    permit = access.case_for(session, actor, case_id, "route")
    names = [p.strip()[:300] for p in places if p.strip()]
    if len(names) > MAX_PLACES:
        raise InvalidTransition(f"at most {MAX_PLACES} places")
    row = permit.case
    if names == [loc.get("name") for loc in row.location or []]:
        return row
    kept = {loc.get("name"): loc for loc in row.location or []}
    row.location = [kept.get(n) or {"name": n, "kind": "address", "start": 0, "end": 0} for n in names]
    row.updated_at = now()
    audit.append(session, actor=actor.login, action="location_corrected", entity="case", entity_id=row.id,
                 data={"places": len(names)})
    return row
