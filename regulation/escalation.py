"""Which escalations are due for a case now: near-due and overdue per step, each once.
Missed deadlines are reported to the head as well (001 §21, 002 §20). Pure."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from regulation.lifecycle import CaseRecord, CaseState
from regulation.profiles import Profile

S = CaseState
# Which deadline binds the case in each state, and who is waited for.
STEP_BY_STATE: dict[CaseState, list[tuple[str, str]]] = {
    S.IDENTIFIED: [("route_by", "curator"), ("answer_by", "curator")],
    S.RETURNED: [("route_by", "curator"), ("answer_by", "curator")],
    S.ROUTED: [("return_by", "executor"), ("draft_by", "executor"), ("answer_by", "executor")],
    S.REVISION: [("revise_by", "executor"), ("answer_by", "executor")],
    S.ON_APPROVAL: [("approve_by", "approver"), ("answer_by", "approver")],
    S.APPROVED: [("publish_by", "curator")],
    S.FINAL_DUE: [("final_by_after_intermediate", "executor")],
}


class EscalationEvent(BaseModel):
    kind: str  # near_due | overdue
    step: str
    due: datetime
    notify: list[str]  # roles
    text: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.step}:{self.due.isoformat()}"


def due_events(case: CaseRecord, now: datetime, profile: Profile, already_sent: set[str]) -> list[EscalationEvent]:
    events = []
    start = case.deadlines.identified_at
    for step, waiting_for in STEP_BY_STATE.get(case.state, []):
        due = getattr(case.deadlines, step, None)
        if due is None:
            continue
        # "Near due" when the remaining share of the step's span drops below the profile's share.
        near = start + (due - start) * (1 - profile.near_due_share)
        if now >= due:
            notify = sorted({waiting_for, "curator", "head"})
            ev = EscalationEvent(kind="overdue", step=step, due=due, notify=notify,
                                 text=f"просрочен срок: {step} ({due.isoformat()})")
        elif now >= near:
            ev = EscalationEvent(kind="near_due", step=step, due=due, notify=sorted({waiting_for, "curator"}),
                                 text=f"истекает срок: {step} ({due.isoformat()})")
        else:
            continue
        if ev.key not in already_sent:
            events.append(ev)
    return events
