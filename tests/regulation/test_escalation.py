"""Escalations: near-due and overdue per step, each once, warnings inside working hours,
missed deadlines reported to the head where the document says so."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from regulation.durations import Duration
from regulation.escalation import automatic_actions, due_events
from regulation.lifecycle import CaseState, apply, new_case, transition
from regulation.profiles import load_profile

NSK, MSK, OMSK, KAM, NKZ = (
    ZoneInfo(z)
    for z in ("Asia/Novosibirsk", "Europe/Moscow", "Asia/Omsk", "Asia/Kamchatka", "Asia/Novokuznetsk")
)
P = {name: load_profile(name) for name in ("sobolevo", "zarechny", "moskalensky", "severny", "tashtagol")}


def t(tz, day, h, mi=0):
    return datetime(2025, 3, day, h, mi, tzinfo=tz)


def step(case, action, role, profile, at, **data):
    return transition(case, action, actor_role=role, at=at, profile=P[profile], **data)[0]


def kinds(events):
    return [(e.kind, e.step) for e in events]


def test_near_due_then_overdue_each_once():
    severny = P["severny"]
    case = new_case(profile=severny, channel="social", identified_at=t(NSK, 5, 10))
    sent: set[str] = set()
    assert due_events(case, t(NSK, 5, 10, 40), severny, sent) == []
    near = due_events(case, t(NSK, 5, 10, 46), severny, sent)  # route_by 11:00 (003 §6), a quarter left
    assert kinds(near) == [("near_due", "route_by")] and near[0].clause == "003 §6"
    assert near[0].notify == ["curator"] and near[0].due == t(NSK, 5, 11).astimezone(UTC)
    sent |= {e.key for e in near}
    assert due_events(case, t(NSK, 5, 10, 55), severny, sent) == []
    over = due_events(case, t(NSK, 5, 11, 30), severny, sent)
    assert kinds(over) == [("overdue", "route_by")]
    sent |= {e.key for e in over}
    assert due_events(case, t(NSK, 5, 11, 35), severny, sent) == []
    # The answer term (9 wh, to Thursday 11:00) warns when 2 h 15 min of working time are left.
    assert kinds(due_events(case, t(NSK, 5, 17, 40), severny, sent)) == []
    assert kinds(due_events(case, t(NSK, 5, 17, 46), severny, sent)) == [("near_due", "answer_by")]


def test_warnings_fall_in_working_hours_not_at_night():
    zar = P["zarechny"]
    case = new_case(profile=zar, channel="social", identified_at=t(MSK, 5, 17, 50))  # route_by Thu 09:50
    assert due_events(case, t(MSK, 5, 23, 0), zar, set()) == []  # a calendar-time quarter would fire at night
    assert due_events(case, t(MSK, 6, 3, 0), zar, set()) == []
    assert kinds(due_events(case, t(MSK, 6, 9, 36), zar, set())) == [("near_due", "route_by")]  # 001 §8


def test_an_event_found_at_night_is_delivered_at_the_start_of_work():
    zar = P["zarechny"]
    case = new_case(profile=zar, channel="social", identified_at=t(MSK, 5, 10))
    (event, *_) = due_events(case, t(MSK, 7, 2, 0), zar, set())  # the watcher wakes at 02:00 on Friday
    assert event.kind == "overdue" and event.deliver_at == t(MSK, 7, 9).astimezone(UTC)
    (event, *_) = due_events(case, t(MSK, 8, 12, 0), zar, set())  # 8 March, a holiday
    assert event.deliver_at == t(MSK, 10, 9).astimezone(UTC)
    (event, *_) = due_events(case, t(MSK, 6, 11, 0), zar, set())
    assert event.deliver_at == t(MSK, 6, 11).astimezone(UTC)  # during work: at once


def test_the_governors_channel_is_watched_every_day():
    tash = P["tashtagol"]
    case = new_case(profile=tash, channel="governor", identified_at=t(NKZ, 9, 10))  # a Sunday
    case = step(case, "route", "curator", "tashtagol", t(NKZ, 9, 10), executors=["zhkh"])
    (event,) = due_events(case, t(NKZ, 9, 16, 30), tash, set())  # 004 §2.4: every day, by 18:00
    assert (event.kind, event.step, event.clause) == ("near_due", "answer_by", "004 §2.4")
    assert event.deliver_at == t(NKZ, 9, 16, 30).astimezone(UTC)  # a Sunday, but this channel works
    (event,) = due_events(case, t(NKZ, 9, 18, 30), tash, set())
    assert event.kind == "overdue" and event.deliver_at == t(NKZ, 10, 8).astimezone(
        UTC
    )  # after 18:00: next morning


def test_missed_deadlines_go_to_the_head_where_the_document_says_so():
    mosk, sev = P["moskalensky"], P["severny"]
    m = step(
        new_case(profile=mosk, channel="social", identified_at=t(OMSK, 5, 10)),
        "route",
        "curator",
        "moskalensky",
        t(OMSK, 5, 10),
        executors=["zhkh"],
    )
    over = [e for e in due_events(m, t(OMSK, 6, 12), mosk, set()) if e.step == "answer_by"][0]
    assert over.kind == "overdue" and over.notify == ["curator", "executor", "head"]  # 002 §20
    assert over.departments == ["zhkh"]
    near = [e for e in due_events(m, t(OMSK, 5, 15, 50), mosk, set()) if e.step == "draft_by"][0]
    assert near.kind == "near_due" and near.notify == ["curator", "executor"]
    s = step(
        new_case(profile=sev, channel="social", identified_at=t(NSK, 5, 10)),
        "route",
        "curator",
        "severny",
        t(NSK, 5, 10),
        executors=["zhkh"],
    )
    over = [e for e in due_events(s, t(NSK, 7, 12), sev, set()) if e.step == "answer_by"][0]
    assert "head" not in over.notify  # 003's open-source part names no such report


def test_each_state_watches_its_own_steps():
    sob = P["sobolevo"]
    t0 = t(KAM, 5, 10)
    case = step(
        new_case(profile=sob, channel="social", identified_at=t0),
        "route",
        "curator",
        "sobolevo",
        t0,
        executors=["zhkh"],
    )
    late = t(KAM, 7, 12)
    assert set(kinds(due_events(case, late, sob, set()))) == {
        ("overdue", "draft_by"),
        ("overdue", "answer_by"),
    }
    case = step(case, "submit_draft", "executor", "sobolevo", t(KAM, 5, 11))
    events = due_events(case, late, sob, set())
    assert set(kinds(events)) == {("overdue", "approve_by"), ("overdue", "answer_by")}
    assert {e.waiting_for for e in events} == {"head"}  # 000 §14: the head approves
    case = step(case, "send_back", "head", "sobolevo", t(KAM, 5, 11, 30), comment="короче")
    assert set(kinds(due_events(case, late, sob, set()))) == {
        ("overdue", "revise_by"),
        ("overdue", "answer_by"),
    }
    case = step(case, "submit_draft", "executor", "sobolevo", t(KAM, 5, 12))
    case = step(case, "approve", "head", "sobolevo", t(KAM, 5, 12, 10))
    (event,) = due_events(case, late, sob, set())
    assert (event.step, event.waiting_for) == ("publish_by", "curator")  # 000 §16: the curator posts
    case = step(case, "published", "system", "sobolevo", t(KAM, 5, 12, 20))
    assert due_events(case, late, sob, set()) == []


def test_coexecutors_are_chased_one_by_one():
    mosk, t0 = P["moskalensky"], t(OMSK, 5, 9)
    case = step(
        new_case(profile=mosk, channel="social", identified_at=t0),
        "route",
        "curator",
        "moskalensky",
        t0,
        executors=["dorogi", "zhkh", "blag"],
    )
    events = [e for e in due_events(case, t(OMSK, 5, 11, 30), mosk, set()) if e.step.startswith("coexecutor")]
    assert kinds(events) == [("overdue", "coexecutor_input_by:zhkh")]  # 002 §14.4; "blag" has not received it
    assert events[0].departments == ["zhkh", "dorogi"] and events[0].clause == "002 §14.4"
    case = step(case, "coexecutor_input", "executor", "moskalensky", t(OMSK, 5, 11, 40), department="zhkh")
    events = [e for e in due_events(case, t(OMSK, 5, 14, 30), mosk, set()) if e.step.startswith("coexecutor")]
    assert kinds(events) == [("near_due", "coexecutor_input_by:blag")]  # 2 wh from 11:40: due 14:40
    events = [e for e in due_events(case, t(OMSK, 5, 14, 45), mosk, set()) if e.step.startswith("coexecutor")]
    assert kinds(events) == [("overdue", "coexecutor_input_by:blag")]


def test_a_moved_deadline_warns_again():
    mosk, t0 = P["moskalensky"], t(OMSK, 5, 10)
    case = step(
        new_case(profile=mosk, channel="social", identified_at=t0),
        "route",
        "curator",
        "moskalensky",
        t0,
        executors=["zhkh"],
    )
    sent = {e.key for e in due_events(case, t(OMSK, 5, 16, 30), mosk, set())}  # draft_by (16:00) overdue
    case = step(case, "set_importance", "curator", "moskalensky", t(OMSK, 5, 16, 40), importance="high")
    again = due_events(case, t(OMSK, 5, 16, 45), mosk, sent)
    assert ("overdue", "answer_by") in kinds(again)  # now due at 15:00 (002 §8 ¶2)


def test_the_final_term_to_be_agreed_is_asked_for():
    mosk, t0 = P["moskalensky"], t(OMSK, 5, 10)
    case = new_case(profile=mosk, channel="social", identified_at=t0, importance="high")
    for action, role in (
        ("route", "curator"),
        ("submit_draft", "executor"),
        ("approve", "curator"),
        ("published", "system"),
    ):
        case = step(case, action, role, "moskalensky", t0, executors=["zhkh"], kind="intermediate")
    (event,) = due_events(case, t(OMSK, 5, 11), mosk, set())
    assert (event.kind, event.clause, event.notify) == ("term_needed", "002 §13", ["curator"])
    assert due_events(case, t(OMSK, 5, 12), mosk, {event.key}) == []


def test_kamchatka_repeat_decision_is_watched_until_made():
    sob, t0 = P["sobolevo"], t(KAM, 5, 10)
    case = step(
        new_case(profile=sob, channel="kamchatka", identified_at=t0),
        "route",
        "system",
        "sobolevo",
        t0,
        executors=["zhkh"],
    )
    assert ("overdue", "repeat_decision_by") in kinds(
        due_events(case, t(KAM, 7, 10), sob, set())
    )  # прил. 2 §2.9
    case = step(case, "decide_repeat", "executor", "sobolevo", t(KAM, 7, 11))
    assert ("overdue", "repeat_decision_by") not in kinds(due_events(case, t(KAM, 7, 12), sob, set()))


def test_fixed_lead_instead_of_a_share():
    zar = P["zarechny"].model_copy(deep=True)
    zar.escalation.near_due_lead = Duration(value=10, unit="minutes", clause="local practice")
    case = new_case(profile=zar, channel="social", identified_at=t(MSK, 5, 10))  # route_by 11:00
    assert due_events(case, t(MSK, 5, 10, 45), zar, set()) == []
    assert kinds(due_events(case, t(MSK, 5, 10, 51), zar, set())) == [("near_due", "route_by")]


def test_silence_accepts_the_answer_by_itself():
    tash, t0 = P["tashtagol"], t(NKZ, 5, 10)
    case = new_case(profile=tash, channel="im", identified_at=t0)
    for action, role in (
        ("route", "curator"),
        ("submit_draft", "executor"),
        ("approve", "curator"),
        ("published", "system"),
    ):
        case = step(case, action, role, "tashtagol", t0, executors=["zhkh"])
    assert automatic_actions(case, t(NKZ, 6, 10), tash) == []
    (event,) = automatic_actions(case, t(NKZ, 7, 10), tash)  # 004 §2.1: two days of silence
    accepted, entry = apply(case, event, tash)
    assert accepted.state == CaseState.ACCEPTED and entry.actor_role == "system"
    assert due_events(accepted, t(NKZ, 9, 10), tash, set()) == []


def test_texts_name_the_step_the_time_and_the_clause():
    zar = P["zarechny"]
    case = new_case(profile=zar, channel="social", identified_at=t(MSK, 5, 10))
    (event, *_) = due_events(case, t(MSK, 5, 11, 30), zar, set())
    assert event.text == "просрочен срок: направить исполнителю — до 05.03.2025 11:00 (001 §8)"
    assert event.key == f"overdue:route_by:{t(MSK, 5, 11).astimezone(UTC).isoformat()}"
    assert (event.due - case.deadlines.identified_at) == timedelta(hours=1)
