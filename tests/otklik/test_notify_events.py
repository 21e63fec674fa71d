"""Notes are written where things happen, in the same transaction: every case step (route, return,
send back, a draft to approve, high importance), the watcher's near-due and overdue, spikes and
socially significant messages, reports, dismissals; a substitute is told while the executor is away."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from otklik import alerts, services
from otklik.actor import Actor
from otklik.exceptions import InvalidTransition
from otklik.services import cases, staff, substitutes
from otklik.settings import get_settings
from otklik.watcher import DeadlineWatcher
from router.spikes import Alert
from storage.tables import CaseRow, NotificationRow, UserRow
from tests.otklik import notify_world as world

pytestmark = pytest.mark.usefixtures("mail_config")  # e-mail on for every test here

IVANOV = Actor(login="ivanov", role="executor", department="dorogi", via="cli")
SIDOROV = Actor(login="sidorov", role="executor", department="zhkh", via="cli")
APPROVER = Actor(login="soglas", role="approver", via="cli")
ADMIN = Actor(login="adm", role="admin", via="cli")


@pytest.fixture
def people(db):
    with db.session() as s:
        return world.staff(s)


def told(db, kind: str, channel: str = "console") -> list[str]:
    with db.session() as s:
        rows = s.query(NotificationRow, UserRow.login).join(UserRow, UserRow.id == NotificationRow.user_id).filter(
            NotificationRow.kind == kind, NotificationRow.channel == channel).order_by(UserRow.login)
        return [login for _, login in rows]


def test_assignment_return_and_the_curators_re_route(db, people):
    with db.session() as s:
        case_id = world.open_case(s, executors=("dorogi", "zhkh"))
    assert told(db, "assigned") == ["ivanov", "petrova", "sidorov"]
    assert told(db, "assigned", "email") == ["ivanov", "sidorov"]  # petrova has no address
    with db.session() as s:
        cases.return_case(s, SIDOROV, case_id, comment="Не наша компетенция")
    # A return gives the whole case back: dorogi, which held it too, stops; the curator re-routes.
    assert told(db, "returned") == ["ivanov", "kurator", "petrova"]
    with db.session() as s:
        cur = Actor(login="kurator", role="curator", via="cli")
        cases.route(s, cur, case_id, executors=["dorogi", "zhkh"])
    # Re-routed: both are assigned again, a new event each.
    assert told(db, "assigned") == ["ivanov", "ivanov", "petrova", "petrova", "sidorov", "sidorov"]
    with db.session() as s:
        cases.route(s, cur, case_id, executors=["dorogi"])  # zhkh taken off, dorogi keeps it: nobody assigned
    assert len(told(db, "assigned")) == 6


def test_a_draft_waits_for_the_approvers_and_a_send_back_reaches_the_executors(db, people):
    with db.session() as s:
        case_id = world.open_case(s)
        cases.submit_draft(s, IVANOV, case_id, text="Здравствуйте! Яму засыплем до пятницы.")
    assert told(db, "draft_waiting") == ["soglas"]
    with db.session() as s:
        cases.send_back(s, APPROVER, case_id, comment="Уточните сроки")
    assert told(db, "sent_back") == ["ivanov", "petrova"]
    with db.session() as s:
        [note] = s.query(NotificationRow).filter_by(kind="sent_back", channel="email").all()
        assert note.subject == f"Проект ответа по обращению №{case_id} возвращён на доработку"
        assert note.link.endswith(f"/console/cases/{case_id}")


def test_high_importance_reports_to_the_head_at_once_on_opening_and_when_raised(db, people):
    with db.session() as s:
        world.open_case(s, importance="high")
        normal = world.open_case(s)
    with db.session() as s:
        [row] = s.query(NotificationRow).filter_by(kind="high_importance", channel="email").all()
        assert row.urgent and row.subject.endswith("высокой важности")
    with db.session() as s:
        cases._apply(s, s.get(CaseRow, normal), "set_importance", actor=Actor(login="router", role="system",
                                                                               via="system"),
                     role="system", importance="high")
    assert told(db, "high_importance") == ["glava", "glava"]


def test_the_watchers_near_due_and_overdue_reach_the_executor_and_the_curator(db, people):
    with db.session() as s:
        case_id = world.open_case(s)
        answer_by = s.get(CaseRow, case_id).answer_by
    watcher = DeadlineWatcher(db, get_settings())
    assert watcher.scan(at=answer_by + timedelta(hours=1)) > 0
    assert "ivanov" in told(db, "overdue") and "kurator" in told(db, "overdue")
    assert "glava" not in told(db, "overdue")
    before = len(told(db, "overdue"))
    watcher.scan(at=answer_by + timedelta(hours=2))  # the same events: stored once, told once
    assert len(told(db, "overdue")) == before


def test_spikes_and_socially_significant_messages_are_urgent_reports_to_the_head(db, people):
    at = datetime.now(UTC)
    with db.session() as s:
        alerts.store(s, Alert(kind="spike", key="topic:Дороги", at=at, topic_group="Дороги", count=12,
                              baseline=2, window_minutes=60, text="рост обращений по теме «Дороги»: 12 за час"))
        alerts.store(s, Alert(kind="significant", key="message:5", at=at, count=300,
                              text="социально значимое сообщение: 300 реакций"))
    assert told(db, "spike") == ["glava"] and told(db, "significant") == ["glava"]
    with db.session() as s:  # the reporter's: missed deadlines (urgent) and a periodic report (not)
        alerts.add(s, "overdue_report", "Северный: случаев с нарушенным сроком ответа — 2: №1, №2.", {"overdue": 2})
        alerts.add(s, "report", "Северный: отчёт за месяц 01.11.2026–30.11.2026.", {"kind": "periodic:month"})
        alerts.add(s, "auth_failed", "source vk: token refused", {"source": "vk"})  # operators' chat only
    assert told(db, "overdue_report") == ["glava"] and told(db, "report") == ["glava"]
    assert told(db, "auth_failed") == []
    with db.session() as s:
        rows = s.query(NotificationRow).filter(NotificationRow.kind.in_(("spike", "significant"))).all()
        assert all(r.urgent for r in rows)
        assert s.query(NotificationRow).filter_by(kind="overdue_report", channel="email").one().urgent
        assert not s.query(NotificationRow).filter_by(kind="report", channel="email").one().urgent
        spike = next(r for r in rows if r.kind == "spike" and r.channel == "email")
        assert spike.text.startswith("Рост обращений") and spike.link.endswith("/console/dashboard")


def test_a_dismissal_reaches_the_curators(db, people):
    with db.session() as s:
        s.add(UserRow(login="adm", role="admin", roles=["admin"], password_hash="-"))
    with db.session() as s:
        staff.dismiss(s, ADMIN, "petrova", dismissed_on=datetime.now(UTC).date() - timedelta(days=1),
                      profile="severny")
    assert told(db, "dismissal") == ["kurator"]


def test_the_substitute_is_told_while_the_executor_is_away(db, people):
    today = datetime.now(UTC).astimezone(world_tz()).date()
    with db.session() as s:
        s.add(UserRow(login="adm", role="admin", roles=["admin"], password_hash="-"))
    with db.session() as s:
        substitutes.add(s, ADMIN, "ivanov", "sidorov", today, today + timedelta(days=3), reason="illness")
        substitutes.add(s, ADMIN, "petrova", "sidorov", today + timedelta(days=10), today + timedelta(days=12))
        case_id = world.open_case(s)
    assert told(db, "assigned") == ["petrova", "sidorov"]
    with db.session() as s:
        note = s.query(NotificationRow).filter_by(kind="assigned", channel="email").one()
        assert note.standing_in_for == "ivanov" and "Вы замещаете сотрудника ivanov" in note.text
        assert note.case_id == case_id


def test_a_failed_cause_leaves_no_note(db, people):
    """The notes are in the cause's transaction: a refused step writes none."""
    with db.session() as s:
        case_id = world.open_case(s)
    before = len(told(db, "sent_back"))
    with pytest.raises(InvalidTransition):
        services.run(db, lambda s: cases.send_back(s, APPROVER, case_id, comment="нет проекта"))
    assert len(told(db, "sent_back")) == before == 0


def world_tz():
    from regulation.profiles import load_profile

    return load_profile("severny").calendar.tz


@pytest.mark.parametrize(("action", "state", "before", "after", "added", "data", "expected"), [
    ("route", "routed", (), ["dorogi"], {"dorogi"}, {}, [("assigned", ("dorogi",))]),
    ("set_responsible", "drafting", ("dorogi",), ["zhkh", "dorogi"], {"zhkh"}, {}, [("assigned", ("zhkh",))]),
    ("return", "returned", ("dorogi", "zhkh"), [], set(), {"department": "zhkh"}, [("returned", ("dorogi",))]),
    ("feedback", "drafting", ("dorogi",), ["dorogi"], set(), {}, [("reopened", ("dorogi",))]),  # back to work
    ("feedback", "accepted", ("dorogi",), ["dorogi"], set(), {}, []),  # accepted: nothing to do
    ("platform_returned", "revision", ("dorogi",), ["dorogi"], set(), {}, [("reopened", ("dorogi",))]),
    ("send_back", "drafting", ("dorogi",), ["dorogi"], set(), {}, [("sent_back", ("dorogi",))]),
    ("submit_draft", "on_approval", ("dorogi",), ["dorogi"], set(), {}, [("draft_waiting", ())]),
    ("set_importance", "routed", (), [], set(), {"importance": "high"}, [("high_importance", ())]),
    ("set_importance", "routed", (), [], set(), {"importance": "normal"}, []),
    ("approve", "approved", ("dorogi",), ["dorogi"], set(), {}, []),
])
def test_which_steps_are_worth_a_note(action, state, before, after, added, data, expected):
    from types import SimpleNamespace

    from otklik.notify.events import step_events
    from regulation.case import CaseState

    record = SimpleNamespace(executors=after, state=CaseState(state))
    assert [(e.kind, e.departments) for e in step_events(action, record, before, added, data)] == expected
