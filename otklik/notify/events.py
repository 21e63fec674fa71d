"""Where notes come from: two hook points, each called inside the transaction of its cause.

- `case_step`: every lifecycle step of a case passes `otklik.services.cases._apply`, which calls it
  with the departments the step gave the case to (`assignments.sync`): assignment, return,
  back to work, send-back, a draft waiting for approval, high importance;
- `alert`: every stored alert (`otklik.alerts.add`: the watcher's near-due / overdue / term needed,
  spikes and socially significant messages, reports, missed deadlines, dismissals).
A case opened with high importance (no step yet) calls `case_opened`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from otklik.notify import store, texts
from otklik.notify.recipients import RULES, Event, Recipient
from regulation.case import CaseRecord
from regulation.lifecycle import WORKING
from regulation.profiles import load_profile
from storage.tables import AlertRow, CaseRow


def _settings():
    from otklik.settings import get_settings

    return get_settings()


def _case_info(row: CaseRow) -> texts.CaseInfo:
    return texts.CaseInfo(id=row.id, topic=row.topic or row.topic_group, due=row.due_at or row.answer_by,
                          importance=row.importance)


def step_events(action: str, record: CaseRecord, before: tuple[str, ...], added: set[str],
                data: dict[str, Any]) -> list[Event]:
    """The note-worthy events of one step (pure); `before`: the departments that held the case."""
    held = tuple(record.executors)
    out = []
    if added:
        out.append(Event("assigned", tuple(sorted(added))))
    if action == "return":
        # The whole case goes back: the others who held it stop, and the curator re-routes it.
        returner = data.get("department") or (before[0] if before else None)
        out.append(Event("returned", tuple(d for d in before if d != returner)))
    elif action in ("platform_returned", "feedback") and record.state in WORKING and not added:
        out.append(Event("reopened", held))
    elif action == "send_back":
        out.append(Event("sent_back", held))
    elif action == "submit_draft":
        out.append(Event("draft_waiting"))
    elif action == "set_importance" and data.get("importance") == "high":
        out.append(Event("high_importance"))
    return out


def case_step(session: Session, row: CaseRow, action: str, record: CaseRecord, before: tuple[str, ...],
              added: set[str], data: dict[str, Any], at: datetime) -> None:
    events = step_events(action, record, before, added, data)
    if events:
        _tell_case(session, row, events, at, key=f"case:{row.id}:v{row.version}")


def case_opened(session: Session, row: CaseRow, at: datetime) -> None:
    if row.importance == "high":
        _tell_case(session, row, [Event("high_importance")], at, key=f"case:{row.id}:opened")


def _tell_case(session: Session, row: CaseRow, events: list[Event], at: datetime, *, key: str) -> None:
    tz = load_profile(row.profile).calendar.tz
    link = _settings().link(f"/console/cases/{row.id}")
    info = _case_info(row)
    for ev in events:
        urgent = RULES[ev.kind].urgent

        def note(r: Recipient, kind: str = ev.kind, urgent: bool = urgent):
            return texts.case_note(kind, info, tz, link, urgent=urgent, standing_in_for=r.standing_in_for)

        store.tell(session, ev, f"{key}:{ev.kind}", note, tz=tz, at=at, case_id=row.id)


def alert(session: Session, row: AlertRow) -> None:
    """The notes of a stored alert (its id, flushed, is the event's key)."""
    if row.kind not in RULES:
        return  # operator alerts (a token, a captcha) go to the operators' chat only
    data = row.data or {}
    settings = _settings()
    case_id = data.get("case_id")
    case = session.get(CaseRow, int(case_id)) if str(case_id or "").isdigit() else None
    profile = case.profile if case is not None else settings.profile
    tz = load_profile(profile).calendar.tz
    ev = Event(row.kind, tuple(data.get("departments") or ()), data.get("waiting_for"))
    urgent = RULES[row.kind].urgent
    if case is not None:
        link = settings.link(f"/console/cases/{case.id}")
        info = _case_info(case)

        def note(r: Recipient):
            return texts.case_note(row.kind, info, tz, link, urgent=urgent, detail=_sentence(row.text),
                                   standing_in_for=r.standing_in_for)
    else:
        link = settings.link("/console/dashboard")

        def note(r: Recipient):
            return texts.alert_note(row.kind, row.text, link, urgent=urgent, standing_in_for=r.standing_in_for)

    store.tell(session, ev, f"alert:{row.id}", note, tz=tz, at=row.at, case_id=case.id if case else None)


def _sentence(text: str) -> str:
    text = (text or "").strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else ""
