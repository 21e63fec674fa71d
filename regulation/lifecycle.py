"""The case lifecycle of REGULATIONS.md as an explicit state machine. Pure: `transition` takes a
record and returns the next record and its audit entry, or raises.

    identified → routed → (returned → routed again) → drafting → on_approval
    → (revision → on_approval) → approved → publishing → published
    → [intermediate answer or clarifying question: final_due → … → published]
    → [platforms with citizen feedback: awaiting_feedback → accepted, or back to routed]
    closed: not processed (not our competence, abusive, a repeat with nothing new).

Who may do what is checked here: the curator routes; executors take, return and draft; only
the profile's approver (or a designated deputy, role "approver") approves; platforms act as
"system". After every step all deadlines are recomputed from what actually happened.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from otklik.exceptions import InvalidTransition, PermissionDenied
from regulation.actions import ACTIONS, StepDue, refresh
from regulation.case import OPEN, AuditEntry, CaseEvent, CaseRecord, CaseState
from regulation.deadlines import Importance, compute_deadlines
from regulation.profiles import Profile

__all__ = [
    "RULES",
    "AuditEntry",
    "CaseEvent",
    "CaseRecord",
    "CaseState",
    "apply",
    "new_case",
    "refresh",
    "replay",
    "roles_for",
    "transition",
]

S = CaseState
WORKING = frozenset({S.ROUTED, S.DRAFTING, S.REVISION, S.FINAL_DUE})
BEFORE_POSTING = WORKING | {S.IDENTIFIED, S.RETURNED, S.ON_APPROVAL}
# action -> (states it may start from, roles; "approver", "sends_back", "shortens", "orders",
# "grants_extension" are resolved from the profile)
RULES: dict[str, tuple[frozenset[CaseState], frozenset[str]]] = {
    "route": (frozenset({S.IDENTIFIED, S.RETURNED, S.ROUTED, S.DRAFTING}), frozenset({"curator", "system"})),
    "set_responsible": (WORKING, frozenset({"orders"})),
    "take": (frozenset({S.ROUTED}), frozenset({"executor"})),
    "coexecutor_input": (WORKING, frozenset({"executor", "curator"})),
    "return": (frozenset({S.ROUTED, S.DRAFTING}), frozenset({"executor", "curator"})),
    "submit_draft": (WORKING, frozenset({"executor", "curator"})),
    "approve": (frozenset({S.ON_APPROVAL}), frozenset({"approver"})),
    "send_back": (frozenset({S.ON_APPROVAL}), frozenset({"sends_back"})),
    "publishing": (frozenset({S.APPROVED}), frozenset({"system"})),
    "publish_failed": (frozenset({S.PUBLISHING}), frozenset({"system"})),
    "published": (frozenset({S.APPROVED, S.PUBLISHING}), frozenset({"system"})),
    "platform_returned": (
        frozenset({S.APPROVED, S.PUBLISHING, S.PUBLISHED, S.AWAITING_FEEDBACK}),
        frozenset({"system"}),
    ),
    "feedback": (frozenset({S.PUBLISHED, S.AWAITING_FEEDBACK}), frozenset({"system"})),
    "set_importance": (OPEN, frozenset({"curator", "head", "system"})),
    "set_term": (BEFORE_POSTING, frozenset({"shortens"})),
    "set_final_term": (OPEN, frozenset({"curator"})),
    "request_extension": (WORKING | {S.ON_APPROVAL}, frozenset({"executor", "curator"})),
    "decide_extension": (OPEN, frozenset({"grants_extension"})),
    "decide_repeat": (OPEN, frozenset({"executor", "curator"})),
    "link_repeat": (OPEN, frozenset({"curator", "system"})),
    "close": (OPEN, frozenset({"curator", "system"})),
}


def roles_for(action: str, profile: Profile, channel: str) -> set[str]:
    """The roles that may take `action` on a case of this profile and channel."""
    rules = profile.channel(channel)
    approver = profile.approver_for(channel)
    # A designated deputy ("approver" role, 000 §9 / 001 §7 substitutes) acts for the approver,
    # except where approval happens on the regional platform itself.
    approvers = {approver} if approver == "system" else {approver, "approver"}
    out: set[str] = set()
    for role in RULES[action][1]:
        if role == "approver":
            out |= approvers
        elif role == "sends_back":
            out |= approvers | set(rules.also_sends_back.roles if rules.also_sends_back else ())
        elif role == "shortens":
            out |= set(rules.may_shorten.roles if rules.may_shorten else ())
        elif role == "orders":
            out.add(rules.coexecutors.ordered_by if rules.coexecutors else "curator")
        elif role == "grants_extension":
            out |= set(rules.extension_decided_by.roles if rules.extension_decided_by else ())
        else:
            out.add(role)
    return out


def new_case(
    *,
    profile: Profile,
    channel: str,
    identified_at: datetime,
    importance: Importance = "normal",
    fast_track: bool = False,
    platform_deadline: datetime | None = None,
    repeat_of: int | None = None,
    category: str | None = None,
) -> CaseRecord:
    deadlines = compute_deadlines(
        profile, channel, identified_at, importance, fast_track, platform_deadline, category=category
    )
    return CaseRecord(
        channel=channel,
        importance=importance,
        fast_track=fast_track,
        category=category,
        deadlines=deadlines,
        platform_deadline=platform_deadline,
        repeat_of=repeat_of,
    )


def transition(
    case: CaseRecord, action: str, *, actor_role: str, at: datetime, profile: Profile, **data: Any
) -> tuple[CaseRecord, AuditEntry]:
    if action not in RULES:
        raise InvalidTransition(f"unknown action {action!r}; actions: {', '.join(RULES)}")
    states = RULES[action][0]
    if case.state not in states:
        raise InvalidTransition(f"cannot {action} a case that is {case.state.value}")
    allowed = roles_for(action, profile, case.channel)
    if actor_role not in allowed:
        raise PermissionDenied(
            f"role {actor_role} may not {action} on channel {case.channel} of "
            f"{profile.name} (allowed: {', '.join(sorted(allowed)) or 'nobody'})"
        )
    handler: Callable[..., StepDue | None] = ACTIONS[action]
    missing = [name for name in _required(handler) if data.get(name) is None]
    if missing:
        raise InvalidTransition(f"{action} needs {', '.join(missing)}")
    at = profile.calendar.local(at).astimezone(UTC)  # a naive time is the municipality's local time
    new = case.model_copy(deep=True)
    step_due = handler(new, at=at, profile=profile, **data)
    refresh(new, profile)
    step, due = step_due or ("", None)
    entry = AuditEntry(
        action=action,
        actor_role=actor_role,
        at=at,
        from_state=case.state,
        to_state=new.state,
        data={k: _plain(v) for k, v in data.items()},
        late=due is not None and at > due,
        clause=case.deadlines.clauses.get(step),
    )
    return new, entry


def apply(case: CaseRecord, event: CaseEvent, profile: Profile) -> tuple[CaseRecord, AuditEntry]:
    return transition(
        case, event.action, actor_role=event.actor_role, at=event.at, profile=profile, **event.data
    )


def replay(
    case: CaseRecord, events: Iterable[CaseEvent], profile: Profile
) -> tuple[CaseRecord, list[AuditEntry]]:
    """Apply events in order (rebuilding a record from its trail, or testing a scenario)."""
    trail = []
    for event in events:
        case, entry = apply(case, event, profile)
        trail.append(entry)
    return case, trail


@functools.cache
def _required(handler: Callable[..., Any]) -> tuple[str, ...]:
    """The data an action cannot do without (executors to route, a reason to close …)."""
    params = inspect.signature(handler).parameters.values()
    return tuple(
        p.name
        for p in params
        if p.kind is p.KEYWORD_ONLY and p.default is p.empty and p.name not in ("at", "profile")
    )


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)
