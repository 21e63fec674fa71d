"""Which escalations are due for a case now. Pure: the lead's watcher calls `due_events`
periodically, delivers what it returns and remembers the keys it delivered.

- Each step that binds the case in its current state is watched (routing, the draft, approval,
  revision, posting, the answer term, each co-executor's input, the final answer …).
- "Near due" when the share of the step's *working* time left drops below the profile's
  threshold (or a fixed lead, if the profile sets one): the warning moment is computed on the
  channel's work calendar, so it falls inside working hours, not at night or on a holiday.
- "Overdue" once the deadline has passed; missed deadlines also go to the head where the
  document says so (001 §21, 002 §20, 003 прил. 1 §18).
- Every event carries `deliver_at`: now during working time, otherwise the next working instant,
  so a watcher that wakes at night can hold the message until people are at work.
- Each event once: its key holds kind, step and due time; a deadline that moves (importance
  raised, extension granted) is a new step instance and warns again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from regulation.case import CaseEvent, CaseRecord, CaseState
from regulation.profiles import Profile

S = CaseState
BEFORE_DRAFT = frozenset({S.IDENTIFIED, S.RETURNED, S.ROUTED, S.DRAFTING})
LABELS = {
    "route_by": "направить исполнителю",
    "take_by": "принять в работу",
    "first_response_by": "первичный ответ",
    "repeat_decision_by": "решить, повторное ли сообщение",
    "draft_by": "проект ответа на согласование",
    "approve_by": "согласовать проект",
    "revise_by": "доработать проект",
    "publish_by": "разместить ответ",
    "answer_by": "ответ автору",
    "final_by_after_intermediate": "окончательный ответ",
    "coexecutor_input_by": "информация соисполнителя",
    "joint_draft_by": "общий проект ответа",
}


class EscalationEvent(BaseModel):
    kind: Literal["near_due", "overdue", "term_needed"]
    step: str  # a deadline of Deadlines, "coexecutor_input_by:<department>" for a co-executor
    due: datetime | None
    waiting_for: str  # the role whose move it is
    departments: list[str] = Field(default_factory=list)  # the executors concerned
    notify: list[str]  # roles to tell
    clause: str | None = None
    deliver_at: datetime
    text: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.step}:{self.due.isoformat() if self.due else '-'}"


class Watch(BaseModel):
    step: str
    due: datetime
    start: datetime
    waiting_for: str
    departments: list[str] = Field(default_factory=list)
    clause: str | None = None


def watched_steps(case: CaseRecord, profile: Profile) -> list[Watch]:
    """The deadlines that bind the case in its current state, and whose move each one is."""
    d, m, rules = case.deadlines, case.milestones, profile.channel(case.channel)
    approver = profile.approver_for(case.channel)
    executors = list(case.executors)
    out: list[Watch] = []

    def watch(step: str, role: str, departments: list[str] | None = None) -> None:
        due = getattr(d, step, None)
        if due is not None:
            out.append(
                Watch(
                    step=step,
                    due=due,
                    start=d.counted_from.get(step, d.identified_at),
                    waiting_for=role,
                    departments=executors if departments is None else departments,
                    clause=d.clauses.get(step),
                )
            )

    state = case.state
    answered_once = m.intermediate_at is not None or m.published_at is not None
    if not answered_once and state in (
        S.IDENTIFIED,
        S.RETURNED,
        S.ROUTED,
        S.DRAFTING,
        S.ON_APPROVAL,
        S.REVISION,
    ):
        watch("first_response_by", "curator")
    if rules.repeat_decision is not None and not case.repeat_decided and state in BEFORE_DRAFT:
        watch("repeat_decision_by", "executor")  # moot once an answer is on its way
    # After an intermediate answer the final term replaces the answer term.
    answer_step = "answer_by"
    if m.intermediate_at is not None:
        answer_step = "final_by_after_intermediate" if rules.final_is == "answer" else ""
    if state in (S.IDENTIFIED, S.RETURNED):
        watch("route_by", "curator")
        watch("take_by", "curator")
        if answer_step:
            watch(answer_step, "curator")
    elif state in (S.ROUTED, S.DRAFTING):
        watch("draft_by", "executor")
        if answer_step:
            watch(answer_step, "executor")
        for member in case.coexecutors:
            if member.received_at is not None and not member.delivered and member.input_by is not None:
                out.append(
                    Watch(
                        step=f"coexecutor_input_by:{member.department}",
                        due=member.input_by,
                        start=member.received_at,
                        waiting_for="executor",
                        departments=[member.department] + ([case.responsible] if case.responsible else []),
                        clause=rules.coexecutors.input.clause if rules.coexecutors else None,
                    )
                )
        if m.coexecutors_done_at is not None:
            watch(
                "joint_draft_by",
                "executor" if case.responsible else "curator",
                [case.responsible] if case.responsible else [],
            )
    elif state == S.REVISION:
        watch("revise_by", "executor")
        if answer_step:
            watch(answer_step, "executor")
    elif state == S.ON_APPROVAL:
        watch("approve_by", approver)
        if answer_step:
            watch(answer_step, approver)
    elif state in (S.APPROVED, S.PUBLISHING):
        watch("publish_by", rules.publisher.roles[0] if rules.publisher else "curator")
    elif state == S.FINAL_DUE:
        watch("final_by_after_intermediate", "executor")
    return out


def due_events(
    case: CaseRecord, now: datetime, profile: Profile, already_sent: set[str]
) -> list[EscalationEvent]:
    """Near-due and overdue events for `case` at `now` that are not in `already_sent`."""
    if case.state in (S.ACCEPTED, S.CLOSED):
        return []
    rules = profile.channel(case.channel)
    cal = profile.calendar_for(case.channel, case.importance)
    now = cal.local(now)
    deliver_at = (now if cal.is_working(now) else cal.next_working_instant(now)).astimezone(UTC)
    events: list[EscalationEvent] = []
    overdue_to = ["head"] if rules.overdue_report_to_head else []
    for w in watched_steps(case, profile):
        due = w.due
        if now >= due:
            kind: Literal["near_due", "overdue"] = "overdue"
            notify = sorted({w.waiting_for, "curator", *overdue_to} - {"system"})
        elif now >= _near_moment(profile, cal, w):
            kind = "near_due"
            notify = sorted({w.waiting_for, "curator"} - {"system"})
        else:
            continue
        event = EscalationEvent(
            kind=kind,
            step=w.step,
            due=due.astimezone(UTC),
            waiting_for=w.waiting_for,
            departments=w.departments,
            notify=notify,
            clause=w.clause,
            deliver_at=deliver_at,
            text=_text(kind, w, cal),
        )
        if event.key not in already_sent:
            events.append(event)
    if case.state == S.FINAL_DUE and case.deadlines.final_by_after_intermediate is None:
        # 002 §13: for high importance the final term is agreed with the curator: ask for it.
        event = EscalationEvent(
            kind="term_needed",
            step="final_by_after_intermediate",
            due=None,
            waiting_for="curator",
            departments=list(case.executors),
            notify=["curator"],
            clause=rules.final_high_agreed.clause if rules.final_high_agreed else None,
            deliver_at=deliver_at,
            text="нужно согласовать срок окончательного ответа после промежуточного",
        )
        if event.key not in already_sent:
            events.append(event)
    return events


def _near_moment(profile: Profile, cal, w: Watch) -> datetime:
    lead = profile.escalation.near_due_lead
    if lead is not None:
        return lead.subtract(cal, w.due)
    span = cal.working_between(w.start, w.due)
    if span <= timedelta(0):
        return w.due
    return cal.subtract_working(w.due, span * profile.escalation.near_due_share)


def _text(kind: str, w: Watch, cal) -> str:
    label = LABELS.get(w.step.split(":")[0], w.step)
    if ":" in w.step:
        label += f" ({w.step.split(':', 1)[1]})"
    when = cal.local(w.due).strftime("%d.%m.%Y %H:%M")
    head = "просрочен срок" if kind == "overdue" else "истекает срок"
    return f"{head}: {label} — до {when}" + (f" ({w.clause})" if w.clause else "")


def automatic_actions(case: CaseRecord, now: datetime, profile: Profile) -> list[CaseEvent]:
    """Transitions that happen by themselves once their time comes: the citizen's silence for
    the regulated time makes the answer accepted (004 §2.1). The watcher applies them with
    `lifecycle.apply`."""
    until = case.deadlines.feedback_until
    if case.state == S.AWAITING_FEEDBACK and until is not None and now >= until:
        return [CaseEvent(action="feedback", actor_role="system", at=now, data={"kind": "silence"})]
    return []
