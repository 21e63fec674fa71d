"""The deadline of every step of a case, from the profile's channel rules and the channel's work
calendar. Pure.

Each step counts from the moment the previous one actually happened (`Milestones`). For a step
that has not happened yet, the plan assumes it happens as soon as it may: routing at the moment
of identification, the draft at once after routing, approval at once after the draft, and so on.
The answer term counts from identification (or from the citizen's rework request), whatever the
steps in between do. Everything is returned as aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

from regulation.calendar import WorkCalendar
from regulation.durations import Duration, Fraction
from regulation.profiles import ChannelRules, Profile

Importance = Literal["normal", "high"]
STEPS = (
    "route_by",
    "take_by",
    "first_response_by",
    "return_by",
    "repeat_decision_by",
    "coexecutor_input_by",
    "joint_draft_by",
    "draft_by",
    "approve_by",
    "revise_by",
    "publish_by",
    "answer_by",
    "final_by_after_intermediate",
    "feedback_until",
)


class Milestones(BaseModel):
    """When the steps of a case actually happened (the lifecycle keeps these)."""

    routed_at: datetime | None = None
    returned_at: datetime | None = None
    submitted_at: datetime | None = None  # the latest draft sent to the approver
    sent_back_at: datetime | None = None
    approved_at: datetime | None = None
    intermediate_at: datetime | None = None  # an intermediate answer or a clarifying question was posted
    published_at: datetime | None = None  # the final answer was posted
    reopened_at: datetime | None = None  # the citizen sent it back (rework, dispute): the term restarts
    coexecutors_done_at: datetime | None = None  # the last co-executor's input arrived


class Deadlines(BaseModel):
    identified_at: datetime
    route_by: datetime | None = None
    take_by: datetime | None = None
    first_response_by: datetime | None = None
    return_by: datetime | None = None
    repeat_decision_by: datetime | None = None
    coexecutor_input_by: datetime | None = None
    joint_draft_by: datetime | None = None
    draft_by: datetime | None = None
    approve_by: datetime | None = None
    revise_by: datetime | None = None
    publish_by: datetime | None = None
    answer_by: datetime | None = None
    final_by_after_intermediate: datetime | None = None
    feedback_until: datetime | None = None
    clauses: dict[str, str] = Field(default_factory=dict)  # step -> the clause its term comes from
    counted_from: dict[str, datetime] = Field(default_factory=dict)  # step -> when its count started
    notes: list[str] = Field(default_factory=list)

    def local(self, profile: Profile) -> dict[str, str | None]:
        """ISO 8601 with the municipality's UTC offset, for people and the CLI."""
        tz = profile.calendar.tz
        out: dict[str, str | None] = {"identified_at": self.identified_at.astimezone(tz).isoformat()}
        for step in STEPS:
            value = getattr(self, step)
            out[step] = value.astimezone(tz).isoformat() if value else None
        return out


def _pick(normal: Duration | None, high: Duration | None, importance: str) -> Duration | None:
    return high if importance == "high" and high is not None else normal


def answer_term(
    rules: ChannelRules, importance: str = "normal", fast_track: bool = False, category: str | None = None
) -> Duration | None:
    """The regulation's own answer term for a message (before platform or human changes)."""
    if fast_track and rules.answer_fast_track is not None:
        return rules.answer_fast_track
    if rules.answer_by_category:
        # ПОС (003 прил. 1 §10): the platform's fastTrack flag alone does not say federal or
        # regional; the shorter, federal term is the safe reading unless the category is given.
        key = category or ("federal_fast_track" if fast_track else "other")
        return rules.answer_by_category.get(key) or rules.answer_by_category.get("other")
    return _pick(rules.answer, rules.answer_high, importance)


def _share(cal: WorkCalendar, dur: Duration, start: datetime, shorter: datetime, regular: datetime) -> float:
    """How much of the regular term a shortened one is, in the term's own kind of time."""
    if dur.basis == "working" and dur.unit != "days":
        whole = cal.working_between(start, regular)
        return cal.working_between(start, shorter) / whole if whole else 1.0
    whole = regular - start
    return (shorter - start) / whole if whole.total_seconds() > 0 else 1.0


def compute_deadlines(
    profile: Profile,
    channel: str,
    identified_at: datetime,
    importance: Importance = "normal",
    fast_track: bool = False,
    platform_deadline: datetime | None = None,
    *,
    category: str | None = None,
    shortened_to: datetime | None = None,
    final_by: datetime | None = None,
    extension_days: int = 0,
    milestones: Milestones | None = None,
) -> Deadlines:
    """Every step's deadline. `platform_deadline`: the platform's own term (ПОС answerAt,
    Incident Management), which binds when earlier. `shortened_to`: a shorter answer term set by
    the curator or the head for this message. `final_by`: a final term agreed per message
    (002 §13, high importance). `extension_days`: a granted extension («Камчатка в порядке»)."""
    rules = profile.channel(channel)
    cal = profile.calendar_for(channel, importance)
    m = milestones or Milestones()
    t0 = cal.local(identified_at)
    out: dict[str, datetime] = {}
    clauses: dict[str, str] = {}
    counted: dict[str, datetime] = {}
    notes: list[str] = []

    def put(step: str, dur: Duration | None, start: datetime | None) -> datetime | None:
        if dur is None or start is None:
            return None
        out[step], clauses[step], counted[step] = dur.add(cal, start), dur.clause, start
        return out[step]

    route_from = m.returned_at or t0
    put("route_by", rules.route, route_from)
    put("take_by", rules.take_into_work, t0)
    put("first_response_by", rules.first_response, t0)
    routed = m.routed_at or route_from
    put("return_by", rules.return_, routed if rules.returner == "executor" else t0)
    put("repeat_decision_by", rules.repeat_decision, t0)

    # -- the answer term -------------------------------------------------------------------------
    start = m.reopened_at or t0
    term = answer_term(rules, importance, fast_track, category)
    regular: datetime | None = None
    if rules.same_day_cutoff is not None:
        regular = cal.cutoff_same_day(start, rules.same_day_cutoff.at)
        clauses["answer_by"] = rules.same_day_cutoff.clause
    elif term is not None:
        regular = term.add(cal, start)
        clauses["answer_by"] = term.clause
    answer = regular
    if answer is not None and extension_days:
        answer = cal.add_calendar_days(answer, extension_days, until="same_time")
        clauses["answer_by"] += (
            f" + extension {extension_days} d ({rules.extension_max.clause})"
            if rules.extension_max
            else f" + extension {extension_days} d"
        )
    if platform_deadline is not None:
        pd = cal.local(platform_deadline)
        if answer is None or pd < answer:
            answer = pd
            clauses["answer_by"] = "platform deadline" + (
                f" ({rules.answer_set_by_platform.clause})" if rules.answer_set_by_platform else ""
            )
    elif answer is None and rules.answer_set_by_platform is not None:
        notes.append(
            f"{rules.answer_set_by_platform.clause}: the platform sets the answer term; none was given"
        )
    if shortened_to is not None and (answer is None or cal.local(shortened_to) < answer):
        answer = cal.local(shortened_to)
        clauses["answer_by"] = "shortened" + (f" ({rules.may_shorten.clause})" if rules.may_shorten else "")
    if answer is not None:
        out["answer_by"], counted["answer_by"] = answer, start

    # -- drafting, approval, publishing ----------------------------------------------------------
    before = _pick(rules.draft_before, rules.draft_before_high, importance)
    if answer is not None and before is not None:
        if shortened_to is not None and regular is not None and answer < regular:
            # A shorter term moves the draft proportionally (a 4-hour term keeps half of §13's 4 h).
            before = before.scaled(_share(cal, before, start, answer, regular))
        out["draft_by"] = max(before.subtract(cal, answer), routed)
        clauses["draft_by"], counted["draft_by"] = before.clause, routed
    submitted = m.submitted_at or routed
    put("approve_by", _pick(rules.approval, rules.approval_high, importance), submitted)
    put("revise_by", _pick(rules.revision, rules.revision_high, importance), m.sent_back_at or submitted)
    approved = m.approved_at or submitted

    final_term = _pick(rules.final_after_intermediate, rules.final_after_intermediate_high, importance)
    if importance == "high" and rules.final_high_agreed and rules.final_after_intermediate_high is None:
        final_term = None
        if final_by is None:
            notes.append(
                f"{rules.final_high_agreed.clause}: after an intermediate answer the final term "
                "is agreed with the curator"
            )
    if final_by is not None:
        out["final_by_after_intermediate"] = cal.local(final_by)
        clauses["final_by_after_intermediate"] = "agreed" + (
            f" ({rules.final_high_agreed.clause})" if rules.final_high_agreed else ""
        )
    else:
        put("final_by_after_intermediate", final_term, m.intermediate_at or approved)

    # Posting is bound by its own term after approval and by the answer term (or, after an
    # intermediate answer, by the final term when that term binds the post itself).
    binding, binding_clause = answer, clauses.get("answer_by", "")
    if m.intermediate_at is not None and rules.final_is == "answer":
        binding = out.get("final_by_after_intermediate")
        binding_clause = clauses.get("final_by_after_intermediate", "")
    publish, publish_clause = None, ""
    if rules.publish_after_approval is not None:
        publish = rules.publish_after_approval.add(cal, approved)
        publish_clause = rules.publish_after_approval.clause
    if publish is None or (binding is not None and binding < publish):
        publish, publish_clause = binding, binding_clause
    if publish is not None:
        out["publish_by"], clauses["publish_by"], counted["publish_by"] = publish, publish_clause, approved

    co = rules.coexecutors
    if co is not None:
        share = co.input
        if isinstance(share, Fraction):
            if answer is not None and answer == regular and term is not None and term.unit == "days":
                # Half of "20 days" is 10 days, counted the same way as the 20.
                half = term.model_copy(update={"value": max(1, int(term.value * share.share))})
                out["coexecutor_input_by"] = half.add(cal, start)
            elif answer is not None:  # a platform's or a shortened term: that span's share
                out["coexecutor_input_by"] = (start + (answer - start) * share.share).replace(
                    second=0, microsecond=0
                )
            if "coexecutor_input_by" in out:
                clauses["coexecutor_input_by"], counted["coexecutor_input_by"] = share.clause, start
        else:
            put("coexecutor_input_by", _pick(share, co.input_high, importance), routed)
        put(
            "joint_draft_by",
            _pick(co.joint_draft, co.joint_draft_high, importance),
            m.coexecutors_done_at or out.get("coexecutor_input_by"),
        )
    if rules.feedback is not None:
        put("feedback_until", rules.feedback.silence, m.published_at or approved)

    return Deadlines(
        identified_at=t0.astimezone(UTC),
        **{k: v.astimezone(UTC) for k, v in out.items()},
        clauses=clauses,
        counted_from={k: v.astimezone(UTC) for k, v in counted.items()},
        notes=notes,
    )


def full_term_chain(
    profile: Profile, channel: str, deadlines: Deadlines, importance: Importance = "normal"
) -> dict[str, datetime]:
    """The other reading of the plan: the draft arrives at its deadline and every later step uses
    its whole term (approval, one revision, approval again, posting). Shows whether the steps of a
    regulation fit inside its answer term (000: 4 h = 1 h + 1 h + 1 h + 1 h)."""
    rules = profile.channel(channel)
    cal = profile.calendar_for(channel, importance)
    approval = _pick(rules.approval, rules.approval_high, importance)
    revision = _pick(rules.revision, rules.revision_high, importance)
    if deadlines.draft_by is None or approval is None:
        return {}
    chain = {"draft_by": deadlines.draft_by, "approve_by": approval.add(cal, deadlines.draft_by)}
    if revision is not None:
        chain["revise_by"] = revision.add(cal, chain["approve_by"])
        chain["approve_again_by"] = approval.add(cal, chain["revise_by"])
    last = chain.get("approve_again_by", chain["approve_by"])
    if rules.publish_after_approval is not None:
        chain["publish_by"] = rules.publish_after_approval.add(cal, last)
    return {k: v.astimezone(UTC) for k, v in chain.items()}
