"""The recipients table (otklik.notify.recipients, pure): each kind of event reaches the people
concerned, and an absent person's note goes to the substitute on the days of the absence only."""

from __future__ import annotations

from datetime import date

import pytest

from otklik.notify.recipients import RULES, URGENT, Absence, Event, Person, Staff, recipients

PEOPLE = (
    Person(1, "ivanov", frozenset({"executor"}), "dorogi"),
    Person(2, "petrova", frozenset({"executor"}), "dorogi"),
    Person(3, "sidorov", frozenset({"executor"}), "zhkh"),
    Person(4, "kurator", frozenset({"curator"})),
    Person(5, "soglas", frozenset({"approver"})),
    Person(6, "glava", frozenset({"head"})),
    Person(7, "admin", frozenset({"admin", "approver"})),
    Person(8, "zam", frozenset({"executor"}), "blago"),
)
STAFF = Staff(PEOPLE, (Absence("ivanov", "zam", date(2026, 12, 7), date(2026, 12, 11)),
                       Absence("glava", "kurator", date(2026, 12, 1), date(2026, 12, 2))))
MONDAY = date(2026, 12, 14)  # nobody away


def told(kind: str, departments=(), on=MONDAY, waiting_for=None) -> list[str]:
    return [r.login for r in recipients(Event(kind, tuple(departments), waiting_for), STAFF, on)]


@pytest.mark.parametrize(("kind", "departments", "expected"), [
    ("assigned", ["dorogi"], ["ivanov", "petrova"]),
    ("assigned", ["dorogi", "zhkh"], ["ivanov", "petrova", "sidorov"]),
    ("returned", ["zhkh"], ["sidorov", "kurator"]),  # the co-executor still holding it, and the curator
    ("reopened", ["zhkh"], ["sidorov", "kurator"]),
    ("sent_back", ["zhkh"], ["sidorov"]),
    ("draft_waiting", [], ["admin", "soglas"]),  # every approver, whatever the primary role
    ("near_due", ["zhkh"], ["sidorov"]),
    ("overdue", ["zhkh"], ["sidorov", "kurator"]),
    ("term_needed", [], ["kurator"]),
    ("significant", [], ["glava"]),
    ("spike", [], ["glava"]),
    ("high_importance", [], ["glava"]),
    ("overdue_report", [], ["glava"]),
    ("report", [], ["glava"]),
    ("dismissal", [], ["kurator"]),
    ("auth_failed", [], []),  # operator alerts: the operators' chat only
])
def test_each_kind_of_event_reaches_the_people_concerned(kind, departments, expected):
    assert told(kind, departments) == expected


def test_a_deadline_waiting_for_the_approver_reaches_the_approvers():
    assert told("near_due", [], waiting_for="approver") == ["admin", "soglas"]
    assert told("overdue", [], waiting_for="approver") == ["kurator", "admin", "soglas"]
    assert told("near_due", [], waiting_for="executor") == []  # no department named: nobody to guess


def test_the_heads_immediate_reports_are_urgent_and_nothing_else_is():
    # 000 §25, 001 §23, 002 §19, 003 §17: socially significant, increased activity; high importance;
    # missed deadlines. A periodic report waits for the morning like any note.
    assert URGENT == {"significant", "spike", "high_importance", "overdue_report"}
    assert all(r.urgent for r in recipients(Event("spike"), STAFF, MONDAY))
    assert not any(r.urgent for r in recipients(Event("assigned", ("dorogi",)), STAFF, MONDAY))
    assert set(RULES) >= {"assigned", "returned", "sent_back", "near_due", "overdue", "dismissal"}


@pytest.mark.parametrize(("on", "expected"), [
    (date(2026, 12, 6), [("ivanov", None), ("petrova", None)]),  # the day before the absence
    (date(2026, 12, 7), [("zam", "ivanov"), ("petrova", None)]),  # first day: the substitute instead
    (date(2026, 12, 11), [("zam", "ivanov"), ("petrova", None)]),  # last day, inclusive
    (date(2026, 12, 12), [("ivanov", None), ("petrova", None)]),  # back
])
def test_the_substitute_is_told_instead_of_the_absent_executor_during_the_absence_only(on, expected):
    got = recipients(Event("assigned", ("dorogi",)), STAFF, on)
    assert [(r.login, r.standing_in_for) for r in got] == expected


def test_a_substitute_for_the_head_receives_the_heads_urgent_report_and_nobody_twice():
    got = recipients(Event("spike"), STAFF, date(2026, 12, 1))
    assert [(r.login, r.standing_in_for, r.urgent) for r in got] == [("kurator", "glava", True)]
    # The curator is both the head's substitute and a curator: told once.
    staff = Staff(PEOPLE, (Absence("soglas", "admin", MONDAY, MONDAY),))
    assert [r.login for r in recipients(Event("draft_waiting"), staff, MONDAY)] == ["admin"]


def test_a_substitute_who_left_is_not_told_and_the_absent_one_is_instead():
    staff = Staff(tuple(p for p in PEOPLE if p.login != "zam"), STAFF.absences)
    assert [r.login for r in recipients(Event("assigned", ("dorogi",)), staff, date(2026, 12, 8))] == \
        ["ivanov", "petrova"]
