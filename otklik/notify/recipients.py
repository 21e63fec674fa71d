"""Who is told (pure): one table from the kind of event to the people concerned.

An event names the departments concerned (the case's executors, or the ones a step gave it to);
"executors" means the active executors of those departments, each replaced by its substitute on
the days it is away (000 §9, 001 §7: the substitute works the case, so the substitute is told).
Municipal roles (curator, approver, head) are everyone holding the role, also replaced by a
substitute while away. Head reports that the regulations call immediate (000 §25, 001 §23,
002 §19, 003 §17: socially significant messages, increased social activity; a high-importance
message; missed deadlines) are urgent: they pass through quiet hours.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Rule:
    executors: bool = False  # the executors of the event's departments
    roles: tuple[str, ...] = ()  # every holder of these roles
    urgent: bool = False  # a head's immediate report: ignores quiet hours
    waiting_role: bool = False  # a deadline event with no department: the role whose move it is


# The one table. Kinds from case steps (otklik.notify.events), from alerts (otklik.alerts: the
# watcher, spikes, reports, dismissals) and the digest (a person's own, not in this table).
RULES: dict[str, Rule] = {
    "assigned": Rule(executors=True),  # routed, re-routed, made responsible or co-executor
    "returned": Rule(executors=True, roles=("curator",)),  # an executor returned it: re-route
    "reopened": Rule(executors=True, roles=("curator",)),  # back to work: citizen's or platform's word
    "sent_back": Rule(executors=True),  # the approver sent the draft back
    "draft_waiting": Rule(roles=("approver",)),  # a draft waits for approval
    "near_due": Rule(executors=True, waiting_role=True),
    "overdue": Rule(executors=True, roles=("curator",), waiting_role=True),
    "term_needed": Rule(roles=("curator",)),  # 002 §13: the final term must be agreed
    "significant": Rule(roles=("head",), urgent=True),
    "spike": Rule(roles=("head",), urgent=True),
    "high_importance": Rule(roles=("head",), urgent=True),
    "overdue_report": Rule(roles=("head",), urgent=True),  # missed deadlines
    "report": Rule(roles=("head",)),
    "dismissal": Rule(roles=("curator",)),  # 000 §9: the curator learns of it within 3 days
}
URGENT = frozenset(k for k, r in RULES.items() if r.urgent)


@dataclass(frozen=True)
class Person:
    user_id: int
    login: str
    roles: frozenset[str]
    department: str | None = None


@dataclass(frozen=True)
class Absence:
    absent: str
    substitute: str
    starts_on: date
    ends_on: date


@dataclass(frozen=True)
class Staff:
    """The active staff and the substitutions on file: what `recipients` decides from."""

    people: tuple[Person, ...]
    absences: tuple[Absence, ...] = ()


@dataclass(frozen=True)
class Event:
    kind: str
    departments: tuple[str, ...] = ()
    waiting_for: str | None = None  # near_due / overdue: whose move it is (executor, approver, curator)


@dataclass(frozen=True)
class Recipient:
    user_id: int
    login: str
    standing_in_for: str | None = None  # the absent colleague whose note this is
    urgent: bool = False


@dataclass
class _Out:
    found: dict[str, Recipient] = field(default_factory=dict)

    def add(self, r: Recipient) -> None:
        self.found.setdefault(r.login, r)  # told once, first reason kept


def stand_ins(staff: Staff, on: date) -> dict[str, str]:
    """absent login -> substitute login for the substitutions covering `on` (inclusive dates; the
    earliest entered wins where two overlap, as in otklik.services.staff.working_on)."""
    out: dict[str, str] = {}
    for a in staff.absences:
        if a.starts_on <= on <= a.ends_on:
            out.setdefault(a.absent, a.substitute)
    return out


def recipients(event: Event, staff: Staff, on: date) -> list[Recipient]:
    """The people told of `event` on the municipality's date `on`, each once, by login order of
    the reason that found them (executors first, then roles)."""
    rule = RULES.get(event.kind)
    if rule is None:
        return []
    by_login = {p.login: p for p in staff.people}
    away = stand_ins(staff, on)
    out = _Out()

    def tell(person: Person) -> None:
        sub = away.get(person.login)
        if sub is not None and sub in by_login:
            s = by_login[sub]
            out.add(Recipient(s.user_id, s.login, standing_in_for=person.login, urgent=rule.urgent))
        else:
            out.add(Recipient(person.user_id, person.login, urgent=rule.urgent))

    roles = list(rule.roles)
    if rule.waiting_role and not event.departments and event.waiting_for and event.waiting_for != "executor":
        roles.append(event.waiting_for)
    if rule.executors:
        for p in _sorted(staff.people):
            if p.department in event.departments and "executor" in p.roles:
                tell(p)
    for role in roles:
        for p in _sorted(staff.people):
            if role in p.roles:
                tell(p)
    return list(out.found.values())


def _sorted(people: Iterable[Person]) -> list[Person]:
    return sorted(people, key=lambda p: p.login)
