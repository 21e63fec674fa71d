"""Deadlines of every step of a case, from the profile's channel rules and its work calendar,
assuming each step happens as soon as it may. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel

from regulation.profiles import Duration, Fraction, Profile

Importance = Literal["normal", "high"]


class Deadlines(BaseModel):
    identified_at: datetime
    route_by: datetime | None = None
    take_by: datetime | None = None
    first_response_by: datetime | None = None
    return_by: datetime | None = None
    draft_by: datetime | None = None
    approve_by: datetime | None = None
    revise_by: datetime | None = None
    answer_by: datetime | None = None
    publish_by: datetime | None = None
    coexecutor_input_by: datetime | None = None
    joint_draft_by: datetime | None = None
    final_by_after_intermediate: datetime | None = None
    feedback_until: datetime | None = None
    clauses: dict[str, str] = {}

    def local(self, profile: Profile) -> dict[str, str]:
        """ISO 8601 with the municipality's UTC offset, for people and the CLI."""
        out = {}
        for key, value in self.model_dump(exclude={"clauses"}).items():
            if isinstance(value, datetime):
                out[key] = value.astimezone(profile.calendar.tz).isoformat()
        return out


def _pick(normal: Duration | None, high: Duration | None, importance: Importance) -> Duration | None:
    return high if importance == "high" and high is not None else normal


def compute_deadlines(profile: Profile, channel: str, identified_at: datetime, importance: Importance = "normal",
                      fast_track: bool = False, platform_deadline: datetime | None = None,
                      category: str | None = None) -> Deadlines:
    rules = profile.channel(channel)
    cal = profile.calendar
    t0 = identified_at if identified_at.tzinfo else identified_at.replace(tzinfo=cal.tz)
    d = Deadlines(identified_at=t0.astimezone(UTC))
    clauses: dict[str, str] = {}

    def put(field: str, dur: Duration | None, start: datetime) -> datetime | None:
        if dur is None or start is None:
            return None
        value = dur.add(cal, start)
        setattr(d, field, value.astimezone(UTC))
        clauses[field] = dur.clause
        return value

    routed = put("route_by", rules.route, t0)
    put("take_by", rules.take_into_work, t0)
    put("first_response_by", rules.first_response, t0)
    # Routing as soon as it may is routing at once: the executor's 30 minutes to return start then.
    put("return_by", rules.return_, t0)
    answer = None
    if rules.same_day_cutoff is not None:
        local = t0.astimezone(cal.tz)
        cut = datetime.combine(local.date(), rules.same_day_cutoff, cal.tz)
        answer = cut if local < cut else cut + timedelta(days=1)  # daily work, weekends included
        clauses["answer_by"] = "same day before the cut-off"
    elif fast_track and rules.answer_fast_track is not None:
        answer = rules.answer_fast_track.add(cal, t0)
        clauses["answer_by"] = rules.answer_fast_track.clause
    elif rules.answer_by_category:
        key = category or ("federal_fast_track" if fast_track else "other")
        dur = rules.answer_by_category.get(key) or rules.answer_by_category.get("other")
        if dur is not None:
            answer = dur.add(cal, t0)
            clauses["answer_by"] = dur.clause
    else:
        dur = _pick(rules.answer, rules.answer_high, importance)
        if dur is not None:
            answer = dur.add(cal, t0)
            clauses["answer_by"] = dur.clause
    if platform_deadline is not None:
        # The platform's own term (ПОС answerAt) binds us; ours may only be earlier.
        answer = min(answer, platform_deadline) if answer else platform_deadline
        clauses.setdefault("answer_by", "platform deadline")
    if answer is not None:
        d.answer_by = answer.astimezone(UTC)
        draft_before = _pick(rules.draft_before, rules.draft_before_high, importance)
        draft = draft_before.subtract(cal, answer) if draft_before else None
        if draft is not None:
            d.draft_by = max(draft, t0).astimezone(UTC)
            clauses["draft_by"] = draft_before.clause
        start = draft or t0
        approve = put("approve_by", rules.approval, start)
        revision = _pick(rules.revision, rules.revision_high, importance)
        put("revise_by", revision, approve or start)
        if rules.publish_after_approval is not None and approve is not None:
            publish = rules.publish_after_approval.add(cal, approve)
            d.publish_by = min(publish, answer).astimezone(UTC)
            clauses["publish_by"] = rules.publish_after_approval.clause
        else:
            d.publish_by = d.answer_by
        coexec = rules.coexecutor_input_high if importance == "high" and rules.coexecutor_input_high \
            else rules.coexecutor_input
        if isinstance(coexec, Fraction):
            d.coexecutor_input_by = (t0 + (answer - t0) * coexec.share).astimezone(UTC)
            clauses["coexecutor_input_by"] = coexec.clause
        elif coexec is not None:
            coexec_in = put("coexecutor_input_by", coexec, routed or t0)
            joint = _pick(rules.joint_draft, rules.joint_draft_high, importance)
            put("joint_draft_by", joint, coexec_in)
        put("final_by_after_intermediate", rules.final_after_intermediate, answer)
        put("feedback_until", rules.feedback_silence, answer)
    d.clauses = clauses
    return d
