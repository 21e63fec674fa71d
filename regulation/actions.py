"""What each step of the lifecycle does to a case record (regulation/lifecycle.py checks who may
take it and from which state, then calls these), and `refresh`, which keeps every deadline of a
case current from what actually happened. Pure: each action changes the record it is given."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, get_args

from otklik.exceptions import InvalidTransition
from regulation.case import CaseRecord, CaseState, CoExecutor, Extension, FeedbackEntry
from regulation.deadlines import Importance, Milestones, compute_deadlines
from regulation.durations import Fraction
from regulation.profiles import Feedback, FeedbackKind, Profile

S = CaseState
CLOSE_REASONS = (
    "not_competent",
    "not_processed",
    "abusive",
    "repeat_answered",
    "duplicate",
    "withdrawn",
    "forwarded",  # sent to another body (with its name): not ours to answer
    "other",
)
FEEDBACK_KINDS = get_args(FeedbackKind)
DEFAULT_FEEDBACK = Feedback(
    clause="000 §20, 001 §17, 002 §15, 003 §13",
    note="a citizen who disputes a posted answer is answered again, as a repeat",
)


# -- deadlines kept current --------------------------------------------------------------------------
def refresh(c: CaseRecord, profile: Profile) -> None:
    """Recompute every deadline of the case from its milestones (after any change)."""
    c.deadlines = compute_deadlines(
        profile,
        c.channel,
        c.deadlines.identified_at,
        c.importance,
        c.fast_track,
        c.platform_deadline,
        category=c.category,
        shortened_to=c.shortened_to,
        final_by=c.final_by,
        extension_days=c.extension_days_granted,
        milestones=c.milestones,
    )
    rules = profile.channel(c.channel)
    co = rules.coexecutors
    if co is None or not c.coexecutors:
        return
    cal = profile.calendar_for(c.channel, c.importance)
    term = co.input_high if c.importance == "high" and co.input_high else co.input
    previous_by = None
    for member in c.coexecutors:
        if isinstance(term, Fraction):
            member.input_by = c.deadlines.coexecutor_input_by
        elif member.received_at is not None:
            member.input_by = term.add(cal, member.received_at).astimezone(UTC)
        elif previous_by is not None:
            # Not received yet (sequential): planned from the latest the previous one may deliver.
            member.input_by = term.add(cal, previous_by).astimezone(UTC)
        previous_by = member.delivered_at or member.input_by
    pending = [m.input_by for m in c.coexecutors if not m.delivered and m.input_by]
    last = max(
        (m.delivered_at or m.input_by for m in c.coexecutors if m.delivered_at or m.input_by), default=None
    )
    if pending:
        c.deadlines.coexecutor_input_by = min(pending)
    joint = co.joint_draft_high if c.importance == "high" and co.joint_draft_high else co.joint_draft
    start = c.milestones.coexecutors_done_at or last
    if joint is not None and start is not None:
        c.deadlines.joint_draft_by = joint.add(cal, start).astimezone(UTC)
        c.deadlines.clauses["joint_draft_by"] = joint.clause


# -- actions: each changes the copy in place and returns the step it completes with its due time ----
StepDue = tuple[str, datetime | None]


def _due(c: CaseRecord, step: str) -> StepDue | None:
    """The step and its deadline as it stood before this action (for the audit's `late`)."""
    return (step, getattr(c.deadlines, step, None)) if step else None


def _route(
    c: CaseRecord,
    *,
    at: datetime,
    profile: Profile,
    executors: list[str],
    responsible: str | None = None,
    **_: Any,
) -> StepDue | None:
    executors = [e for i, e in enumerate(executors or []) if e and e not in executors[:i]]
    if not executors:
        raise InvalidTransition("routing needs at least one executor")
    was = c.state
    c.executors = executors
    c.milestones.routed_at = at
    _assign(c, profile, responsible, at)
    c.state = S.ROUTED
    return _due(c, "route_by") if was in (S.IDENTIFIED, S.RETURNED) else None


def _assign(c: CaseRecord, profile: Profile, responsible: str | None, at: datetime) -> None:
    """Who writes the joint answer, and the co-executors with their order (000 §19, 001 §16,
    002 §14, 003 §12, 003 прил. 1 §14)."""
    co = profile.channel(c.channel).coexecutors
    if responsible is not None and responsible not in c.executors:
        raise InvalidTransition(f"the responsible executor {responsible!r} is not among {c.executors}")
    if responsible is None:
        kind = co.responsible if co else "first"
        responsible = None if kind == "curator" else c.executors[-1] if kind == "last" else c.executors[0]
    before = {m.department: m for m in c.coexecutors}
    c.responsible = responsible
    others = [e for e in c.executors if e != responsible]
    sequential = co is not None and co.order == "sequential"
    c.coexecutors = []
    for i, dept in enumerate(others):
        old = before.get(dept)
        member = old.model_copy() if old else CoExecutor(department=dept)
        member.order = i
        if member.received_at is None and (not sequential or i == 0 or c.coexecutors[i - 1].delivered):
            member.received_at = at
        c.coexecutors.append(member)
    if len(c.executors) > 1 and c.coexecutors and all(m.delivered for m in c.coexecutors):
        c.milestones.coexecutors_done_at = max(m.delivered_at for m in c.coexecutors if m.delivered_at)


def _set_responsible(c: CaseRecord, *, at: datetime, profile: Profile, responsible: str, **_: Any) -> None:
    _assign(c, profile, responsible, at)


def _take(c: CaseRecord, *, at: datetime, profile: Profile, **_: Any) -> None:
    c.state = S.DRAFTING


def _coexecutor_input(
    c: CaseRecord, *, at: datetime, profile: Profile, department: str, **_: Any
) -> StepDue | None:
    member = next((m for m in c.coexecutors if m.department == department), None)
    if member is None:
        raise InvalidTransition(f"{department!r} is not a co-executor of this case")
    if member.delivered:
        raise InvalidTransition(f"{department!r} already delivered its input")
    if member.received_at is None:
        raise InvalidTransition(f"{department!r} has not received the message yet (the order is sequential)")
    late = member.input_by is not None and at > member.input_by
    member.delivered, member.delivered_at = True, at
    following = [m for m in c.coexecutors if m.order > member.order and m.received_at is None]
    if following:
        following[0].received_at = at  # the next one in the curator's order starts now
    if all(m.delivered for m in c.coexecutors):
        c.milestones.coexecutors_done_at = at
    return ("coexecutor_input_by", member.input_by) if late else None


def _return(
    c: CaseRecord,
    *,
    at: datetime,
    profile: Profile,
    department: str | None = None,
    comment: str = "",
    **_: Any,
) -> StepDue | None:
    c.returns.append(
        {
            "department": department or (c.executors[0] if c.executors else None),
            "comment": comment,
            "at": at.isoformat(),
            "late": bool(c.deadlines.return_by and at > c.deadlines.return_by),
        }
    )
    c.executors, c.responsible, c.coexecutors = [], None, []
    c.milestones = Milestones(returned_at=at, reopened_at=c.milestones.reopened_at)
    c.state = S.RETURNED
    return _due(c, "return_by")


def _submit_draft(
    c: CaseRecord,
    *,
    at: datetime,
    profile: Profile,
    kind: str = "answer",
    outcome: str | None = None,
    contacted_author: bool | None = None,
    **_: Any,
) -> StepDue | None:
    rules = profile.channel(c.channel)
    if kind not in ("answer", "intermediate", "clarify"):
        raise InvalidTransition(
            f"a draft is an answer, an intermediate answer or a clarifying question, not {kind!r}"
        )
    if c.state == S.FINAL_DUE and kind != "answer":
        raise InvalidTransition("after an intermediate answer the next draft is the final answer")
    if contacted_author:
        c.contacted_author = True
    if rules.must_contact_author and kind == "answer" and not c.contacted_author:
        raise InvalidTransition(
            f"{rules.must_contact_author.clause}: contact the author before the answer "
            "(contacted_author=true)"
        )
    if rules.outcomes is not None and kind == "answer":
        if outcome is None and rules.outcomes.required:
            raise InvalidTransition(
                f"{rules.outcomes.clause}: the answer needs an outcome: {', '.join(rules.outcomes.values)}"
            )
        if outcome is not None and outcome not in rules.outcomes.values:
            raise InvalidTransition(f"outcome {outcome!r} is not one of {', '.join(rules.outcomes.values)}")
    c.outcome = outcome if kind == "answer" else c.outcome
    c.draft_kind = kind  # type: ignore[assignment]
    step = "revise_by" if c.state == S.REVISION else "draft_by"
    if c.state == S.FINAL_DUE:
        step = "final_by_after_intermediate" if rules.final_is == "draft" else ""
    c.milestones.submitted_at = at
    c.state = S.ON_APPROVAL
    return _due(c, step)


def _approve(c: CaseRecord, *, at: datetime, profile: Profile, **_: Any) -> StepDue | None:
    c.milestones.approved_at = at
    c.state = S.APPROVED
    return _due(c, "approve_by")


def _send_back(
    c: CaseRecord, *, at: datetime, profile: Profile, comment: str = "", **_: Any
) -> StepDue | None:
    if not comment.strip():
        raise InvalidTransition("a draft goes back with the approver's recommendations (a comment)")
    c.revisions += 1
    c.milestones.sent_back_at = at
    c.state = S.REVISION
    return _due(c, "approve_by")


def _publishing(c: CaseRecord, *, at: datetime, profile: Profile, **_: Any) -> None:
    c.state = S.PUBLISHING


def _publish_failed(c: CaseRecord, *, at: datetime, profile: Profile, **_: Any) -> None:
    c.state = S.APPROVED


def _published(
    c: CaseRecord, *, at: datetime, profile: Profile, url: str | None = None, **_: Any
) -> StepDue | None:
    rules = profile.channel(c.channel)
    c.published_url = url or c.published_url
    if c.draft_kind in ("intermediate", "clarify"):
        # No document sets a term after a clarifying question; it is treated like an intermediate
        # answer, so the case never waits without a deadline.
        c.intermediate_at = c.milestones.intermediate_at = at
        c.state = S.FINAL_DUE
        return _due(c, "publish_by")
    c.milestones.published_at = at
    c.state = S.AWAITING_FEEDBACK if rules.feedback is not None else S.PUBLISHED
    return _due(c, "publish_by")


def _platform_returned(c: CaseRecord, *, at: datetime, profile: Profile, comment: str = "", **_: Any) -> None:
    # 004 §2.1–2.2: a negative decision of the regional curators or a moderator returns it to work.
    c.revisions += 1
    c.milestones.sent_back_at = at
    c.milestones.approved_at = c.milestones.published_at = None
    c.state = S.REVISION


def _feedback(
    c: CaseRecord,
    *,
    at: datetime,
    profile: Profile,
    kind: str,
    rating: int | None = None,
    comment: str | None = None,
    platform_deadline: datetime | None = None,
    **_: Any,
) -> None:
    fb = profile.channel(c.channel).feedback or DEFAULT_FEEDBACK
    if kind not in FEEDBACK_KINDS:
        raise InvalidTransition(f"unknown feedback {kind!r}; known: {', '.join(FEEDBACK_KINDS)}")
    if kind == "silence" and (c.deadlines.feedback_until is None or at < c.deadlines.feedback_until):
        raise InvalidTransition(
            "the citizen's time to react has not run out"
            + (f" ({fb.silence.clause})" if fb.silence else ": this channel sets none")
        )
    c.feedback = {"kind": kind, "rating": rating, "comment": comment, "at": at.isoformat()}
    c.feedback_history.append(FeedbackEntry(kind=kind, at=at, rating=rating, comment=comment))
    # "reopened" and "accepted" are the platform's own decision with no finer kind: it is
    # authoritative whatever the profile lists (the case must follow the platform's state).
    if kind in fb.reopen_on or kind == "reopened":
        # Back to the same executors at once (000 прил. 2 §2.8), the answer term counted anew from
        # the citizen's request, as for a repeat message (000 §20, 001 §17 …).
        c.reopened += 1
        c.milestones = Milestones(routed_at=at, reopened_at=at)
        c.draft_kind, c.intermediate_at = None, None
        # The platform's term of the first answer has run; a new one comes with the event or not at all.
        if platform_deadline is not None and platform_deadline > at:
            c.platform_deadline = platform_deadline
        elif c.platform_deadline is not None and c.platform_deadline <= at:
            c.platform_deadline = None
        c.state = S.ROUTED if c.executors else S.IDENTIFIED
    elif kind in fb.accept_on or kind == "accepted":
        c.state = S.ACCEPTED


def _set_importance(
    c: CaseRecord,
    *,
    at: datetime,
    profile: Profile,
    importance: Importance,
    fast_track: bool | None = None,
    **_: Any,
) -> None:
    if importance not in ("normal", "high"):
        raise InvalidTransition(f"importance is normal or high, not {importance!r}")
    c.importance = importance
    if fast_track is not None:
        c.fast_track = fast_track


def _set_term(c: CaseRecord, *, at: datetime, profile: Profile, answer_by: datetime, **_: Any) -> None:
    rules = profile.channel(c.channel)
    cal = profile.calendar_for(c.channel, c.importance)
    answer_by = cal.local(answer_by)
    if rules.answer_fast_track_min is not None and not c.fast_track:
        raise InvalidTransition(
            f"{rules.may_shorten.clause}: only a fast-track message gets a term set by hand"
        )
    regular = compute_deadlines(
        profile,
        c.channel,
        c.deadlines.identified_at,
        c.importance,
        c.fast_track,
        c.platform_deadline,
        category=c.category,
        extension_days=c.extension_days_granted,
        milestones=c.milestones,
    ).answer_by
    if regular is not None and answer_by > regular:
        raise InvalidTransition(f"a term may only be shortened: the regulation's is {regular.isoformat()}")
    if answer_by <= at:
        raise InvalidTransition("the new term must be in the future")
    if rules.answer_fast_track_min is not None:
        shortest = rules.answer_fast_track_min.add(cal, c.deadlines.identified_at)
        if answer_by < shortest:
            raise InvalidTransition(
                f"{rules.answer_fast_track_min.clause}: not shorter than "
                f"{rules.answer_fast_track_min.describe()}"
            )
    c.shortened_to = answer_by.astimezone(UTC)


def _set_final_term(c: CaseRecord, *, at: datetime, profile: Profile, final_by: datetime, **_: Any) -> None:
    rules = profile.channel(c.channel)
    if not (rules.final_high_agreed and c.importance == "high"):
        raise InvalidTransition("the final term after an intermediate answer is set by the regulation here")
    final_by = profile.calendar.local(final_by).astimezone(UTC)
    if final_by <= at:
        raise InvalidTransition("the final term must be in the future")
    c.final_by = final_by


def _request_extension(
    c: CaseRecord, *, at: datetime, profile: Profile, days: int, comment: str, **_: Any
) -> None:
    rules = profile.channel(c.channel)
    if rules.extension_max is None:
        raise InvalidTransition(f"channel {c.channel} of {profile.name} has no extensions")
    if c.extension is not None and c.extension.granted is None:
        raise InvalidTransition("an extension request is already waiting for the coordinator")
    limit = int(rules.extension_max.value) - c.extension_days_granted
    if not 1 <= int(days) <= limit:
        raise InvalidTransition(f"an extension is 1 to {limit} more days ({rules.extension_max.describe()})")
    if not (comment or "").strip():
        raise InvalidTransition(f"an extension request needs a comment ({rules.extension_max.clause})")
    c.extension = Extension(days=int(days), comment=comment, requested_at=at)


def _decide_extension(
    c: CaseRecord,
    *,
    at: datetime,
    profile: Profile,
    granted: bool,
    platform_deadline: datetime | None = None,
    **_: Any,
) -> None:
    if c.extension is None or c.extension.granted is not None:
        raise InvalidTransition("no extension request is waiting")
    c.extension.granted, c.extension.decided_at = bool(granted), at
    if granted:
        c.extension_days_granted += c.extension.days
        if platform_deadline is not None:
            # The platform's new date is the term (000 прил. 2 §2.5): it replaces its old one.
            c.platform_deadline = platform_deadline


def _decide_repeat(
    c: CaseRecord, *, at: datetime, profile: Profile, repeat_of: int | None = None, **_: Any
) -> StepDue | None:
    c.repeat_of, c.repeat_decided = repeat_of, True
    return _due(c, "repeat_decision_by")


def _link_repeat(c: CaseRecord, *, at: datetime, profile: Profile, repeat_of: int, **_: Any) -> None:
    c.repeat_of = repeat_of


def _close(
    c: CaseRecord,
    *,
    at: datetime,
    profile: Profile,
    reason: str,
    comment: str = "",
    forwarded_to: str | None = None,
    **_: Any,
) -> StepDue | None:
    if reason not in CLOSE_REASONS:
        raise InvalidTransition(f"reason {reason!r} is not one of {', '.join(CLOSE_REASONS)}")
    if reason == "forwarded":
        if not (forwarded_to or "").strip():
            raise InvalidTransition("a forwarded message names the body it went to (forwarded_to)")
        c.forwarded_to = forwarded_to.strip()
    c.closed_reason = reason
    c.state = S.CLOSED
    # 003 §6: the authorised person returns what is not the district's competence to the ЦУР curator.
    returner = profile.channel(c.channel).returner
    return _due(c, "return_by") if reason == "not_competent" and returner == "curator" else None


ACTIONS: dict[str, Callable[..., StepDue | None]] = {
    "route": _route,
    "set_responsible": _set_responsible,
    "take": _take,
    "coexecutor_input": _coexecutor_input,
    "return": _return,
    "submit_draft": _submit_draft,
    "approve": _approve,
    "send_back": _send_back,
    "publishing": _publishing,
    "publish_failed": _publish_failed,
    "published": _published,
    "platform_returned": _platform_returned,
    "feedback": _feedback,
    "set_importance": _set_importance,
    "set_term": _set_term,
    "set_final_term": _set_final_term,
    "request_extension": _request_extension,
    "decide_extension": _decide_extension,
    "decide_repeat": _decide_repeat,
    "link_repeat": _link_repeat,
    "close": _close,
}
