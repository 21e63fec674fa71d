"""The case lifecycle of REGULATIONS.md as an explicit state machine. Pure: `transition` takes a
record and returns the next record and its audit entry, or raises.

identified → routed → (returned → routed) → on_approval → (revision → on_approval) → approved
→ published | final_due (after an intermediate answer or a clarifying question) | awaiting_feedback
(platforms where the citizen confirms, rates or disputes) → accepted, or back to routed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from otklik.exceptions import InvalidTransition, PermissionDenied
from regulation.deadlines import Deadlines, Importance, compute_deadlines
from regulation.profiles import Profile


class CaseState(StrEnum):
    IDENTIFIED = "identified"
    ROUTED = "routed"
    RETURNED = "returned"
    ON_APPROVAL = "on_approval"
    REVISION = "revision"
    APPROVED = "approved"
    PUBLISHED = "published"
    FINAL_DUE = "final_due"
    AWAITING_FEEDBACK = "awaiting_feedback"
    ACCEPTED = "accepted"


S = CaseState
FEEDBACK_CHANNELS = {"im", "pos", "kamchatka"}


class CoExecutor(BaseModel):
    department: str
    input_by: datetime | None = None
    delivered: bool = False


class Extension(BaseModel):
    days: int
    comment: str
    requested_at: datetime
    granted: bool | None = None


class CaseRecord(BaseModel):
    state: CaseState = S.IDENTIFIED
    channel: str
    importance: Importance = "normal"
    fast_track: bool = False
    category: str | None = None
    executors: list[str] = Field(default_factory=list)  # the responsible one first
    coexecutors: list[CoExecutor] = Field(default_factory=list)
    deadlines: Deadlines
    platform_deadline: datetime | None = None
    repeat_of: int | None = None  # the earlier case: its answer must report the measures taken
    draft_kind: Literal["answer", "intermediate", "clarify"] | None = None
    revisions: int = 0
    returns: list[dict[str, Any]] = Field(default_factory=list)
    extension: Extension | None = None
    published_url: str | None = None
    intermediate_at: datetime | None = None
    feedback: dict[str, Any] = Field(default_factory=dict)
    escalations_sent: list[str] = Field(default_factory=list)


class AuditEntry(BaseModel):
    action: str
    actor_role: str
    at: datetime
    from_state: CaseState
    to_state: CaseState
    data: dict[str, Any] = Field(default_factory=dict)


# action -> (states it may start from, roles allowed; "approver" means the profile's approver)
RULES: dict[str, tuple[set[CaseState], set[str]]] = {
    "route": ({S.IDENTIFIED, S.RETURNED, S.ROUTED}, {"curator"}),
    "return": ({S.ROUTED}, {"executor", "curator"}),
    "submit_draft": ({S.ROUTED, S.REVISION, S.FINAL_DUE}, {"executor", "curator"}),
    "approve": ({S.ON_APPROVAL}, {"approver"}),
    "send_back": ({S.ON_APPROVAL}, {"approver"}),
    "published": ({S.APPROVED}, {"system"}),
    "set_importance": (set(S) - {S.ACCEPTED}, {"system", "curator", "head"}),
    "request_extension": ({S.ROUTED, S.REVISION, S.FINAL_DUE}, {"executor", "curator"}),
    "decide_extension": ({S.ROUTED, S.REVISION, S.FINAL_DUE, S.ON_APPROVAL}, {"curator", "system"}),
    "feedback": ({S.AWAITING_FEEDBACK, S.PUBLISHED}, {"system"}),
    "platform_returned": ({S.APPROVED, S.PUBLISHED, S.AWAITING_FEEDBACK}, {"system"}),
}


def new_case(*, profile: Profile, channel: str, identified_at: datetime, importance: Importance = "normal",
             fast_track: bool = False, platform_deadline: datetime | None = None, repeat_of: int | None = None,
             category: str | None = None) -> CaseRecord:
    deadlines = compute_deadlines(profile, channel, identified_at, importance, fast_track, platform_deadline,
                                  category)
    return CaseRecord(channel=channel, importance=importance, fast_track=fast_track, category=category,
                      deadlines=deadlines, platform_deadline=platform_deadline, repeat_of=repeat_of)


def _allowed(action: str, role: str, profile: Profile, channel: str) -> bool:
    roles = RULES[action][1]
    if role == "admin":
        return True
    if "approver" in roles:
        # The document's approver (curator or head), or a user designated as approver.
        return role in (profile.approver_for(channel), "approver")
    return role in roles


def transition(case: CaseRecord, action: str, *, actor_role: str, at: datetime, profile: Profile,
               **data: Any) -> tuple[CaseRecord, AuditEntry]:
    if action not in RULES:
        raise InvalidTransition(f"unknown action {action!r}")
    states, _ = RULES[action]
    if case.state not in states:
        raise InvalidTransition(f"cannot {action} a case that is {case.state.value}")
    if not _allowed(action, actor_role, profile, case.channel):
        raise PermissionDenied(f"role {actor_role} may not {action} on channel {case.channel} "
                               f"(approver here: {profile.approver_for(case.channel)})")
    new = case.model_copy(deep=True)
    getattr(_Actions, action.replace("-", "_"))(new, at=at, profile=profile, **data)
    entry = AuditEntry(action=action, actor_role=actor_role, at=at, from_state=case.state, to_state=new.state,
                       data={k: v for k, v in data.items() if isinstance(v, (str, int, float, bool, list))})
    return new, entry


class _Actions:
    @staticmethod
    def route(c: CaseRecord, *, at: datetime, profile: Profile, executors: list[str], **_: Any) -> None:
        if not executors:
            raise InvalidTransition("routing needs at least one executor")
        c.executors = list(executors)
        rules = profile.channel(c.channel)
        coexec = rules.coexecutor_input_high if c.importance == "high" and rules.coexecutor_input_high \
            else rules.coexecutor_input
        input_by = None
        if coexec is not None and hasattr(coexec, "add"):
            input_by = coexec.add(profile.calendar, at)
        elif coexec is not None and c.deadlines.answer_by:  # a share of the main term
            input_by = at + (c.deadlines.answer_by - at) * coexec.share
        c.coexecutors = [CoExecutor(department=d, input_by=input_by) for d in executors[1:]]
        c.state = S.ROUTED

    @staticmethod
    def return_(c: CaseRecord, *, at: datetime, profile: Profile, department: str | None = None,
                comment: str = "", **_: Any) -> None:
        c.returns.append({"department": department or (c.executors[0] if c.executors else None),
                          "comment": comment, "at": at.isoformat(),
                          "late": bool(c.deadlines.return_by and at > c.deadlines.return_by)})
        c.executors = []
        c.state = S.RETURNED

    @staticmethod
    def submit_draft(c: CaseRecord, *, at: datetime, profile: Profile, kind: str = "answer", **_: Any) -> None:
        c.draft_kind = kind  # type: ignore[assignment]
        c.state = S.ON_APPROVAL

    @staticmethod
    def approve(c: CaseRecord, *, at: datetime, profile: Profile, **_: Any) -> None:
        c.state = S.APPROVED

    @staticmethod
    def send_back(c: CaseRecord, *, at: datetime, profile: Profile, comment: str = "", **_: Any) -> None:
        c.revisions += 1
        c.state = S.REVISION

    @staticmethod
    def published(c: CaseRecord, *, at: datetime, profile: Profile, url: str | None = None, **_: Any) -> None:
        c.published_url = url
        if c.draft_kind in ("intermediate", "clarify"):
            c.intermediate_at = at
            rules = profile.channel(c.channel)
            if rules.final_after_intermediate is not None:
                c.deadlines.final_by_after_intermediate = rules.final_after_intermediate.add(profile.calendar, at)
            c.state = S.FINAL_DUE
        elif c.channel in FEEDBACK_CHANNELS:
            rules = profile.channel(c.channel)
            if rules.feedback_silence is not None:
                c.deadlines.feedback_until = rules.feedback_silence.add(profile.calendar, at)
            c.state = S.AWAITING_FEEDBACK
        else:
            c.state = S.PUBLISHED

    @staticmethod
    def set_importance(c: CaseRecord, *, at: datetime, profile: Profile, importance: Importance, **_: Any) -> None:
        c.importance = importance
        fresh = compute_deadlines(profile, c.channel, c.deadlines.identified_at, importance, c.fast_track,
                                  c.platform_deadline, c.category)
        c.deadlines = fresh.model_copy(update={"final_by_after_intermediate": c.deadlines.final_by_after_intermediate
                                               or fresh.final_by_after_intermediate})

    @staticmethod
    def request_extension(c: CaseRecord, *, at: datetime, profile: Profile, days: int, comment: str,
                          **_: Any) -> None:
        rules = profile.channel(c.channel)
        if rules.extension_max is None:
            raise InvalidTransition(f"channel {c.channel} has no extensions")
        if days > rules.extension_max.value:
            raise InvalidTransition(f"an extension is at most {rules.extension_max.value:g} days "
                                    f"({rules.extension_max.clause})")
        if not comment.strip():
            raise InvalidTransition("an extension request needs a comment")
        if c.extension is not None:
            raise InvalidTransition("an extension was already requested for this case")
        c.extension = Extension(days=days, comment=comment, requested_at=at)

    @staticmethod
    def decide_extension(c: CaseRecord, *, at: datetime, profile: Profile, granted: bool, **_: Any) -> None:
        if c.extension is None or c.extension.granted is not None:
            raise InvalidTransition("no pending extension request")
        c.extension.granted = granted
        if granted and c.deadlines.answer_by:
            c.deadlines.answer_by = c.deadlines.answer_by + timedelta(days=c.extension.days)
            c.deadlines.publish_by = c.deadlines.answer_by

    @staticmethod
    def feedback(c: CaseRecord, *, at: datetime, profile: Profile, kind: str, rating: int | None = None,
                 comment: str | None = None, **_: Any) -> None:
        c.feedback = {"kind": kind, "rating": rating, "comment": comment, "at": at.isoformat()}
        if kind in ("confirm", "rate", "silence", "accepted"):
            c.state = S.ACCEPTED
        elif kind in ("dispute", "rework", "reopened"):
            c.state = S.ROUTED  # back to work with the same executors
        else:
            raise InvalidTransition(f"unknown feedback {kind!r}")

    @staticmethod
    def platform_returned(c: CaseRecord, *, at: datetime, profile: Profile, comment: str = "", **_: Any) -> None:
        c.revisions += 1
        c.state = S.REVISION


setattr(_Actions, "return", _Actions.return_)
