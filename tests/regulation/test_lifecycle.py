from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from otklik.exceptions import InvalidTransition, PermissionDenied
from regulation.deadlines import compute_deadlines
from regulation.escalation import due_events
from regulation.lifecycle import CaseState, new_case, transition
from regulation.profiles import load_profile

NSK = ZoneInfo("Asia/Novosibirsk")
T0 = datetime(2025, 3, 5, 10, 0, tzinfo=NSK)  # a Wednesday
severny = load_profile("severny")


def step(case, action, role, profile=severny, at=T0, **data):
    return transition(case, action, actor_role=role, at=at, profile=profile, **data)[0]


def test_full_path_with_revision_and_audit():
    case = new_case(profile=severny, channel="social", identified_at=T0)
    assert case.state == CaseState.IDENTIFIED
    case, entry = transition(case, "route", actor_role="curator", at=T0, profile=severny,
                             executors=["dorogi", "blagoustroystvo"])
    assert entry.from_state == CaseState.IDENTIFIED and entry.to_state == CaseState.ROUTED
    assert case.coexecutors[0].department == "blagoustroystvo"
    assert case.coexecutors[0].input_by == datetime(2025, 3, 5, 12, 0, tzinfo=NSK)  # 003 §12.3: 2 wh
    case = step(case, "submit_draft", "executor")
    case = step(case, "send_back", "curator", comment="Добавьте сроки")
    assert case.state == CaseState.REVISION and case.revisions == 1
    case = step(case, "submit_draft", "executor")
    case = step(case, "approve", "curator")
    case = step(case, "published", "system", url="https://t.me/c/1/2")
    assert case.state == CaseState.PUBLISHED


def test_nobody_but_the_approver_approves():
    sobolevo = load_profile("sobolevo")
    case = new_case(profile=sobolevo, channel="social", identified_at=T0)
    case = step(case, "route", "curator", sobolevo, executors=["zhkh"])
    case = step(case, "submit_draft", "executor", sobolevo)
    with pytest.raises(PermissionDenied):
        step(case, "approve", "curator", sobolevo)  # 000 §13–14: the head of the district approves
    with pytest.raises(PermissionDenied):
        step(case, "approve", "executor", sobolevo)
    assert step(case, "approve", "head", sobolevo).state == CaseState.APPROVED


def test_cannot_skip_approval():
    case = new_case(profile=severny, channel="social", identified_at=T0)
    case = step(case, "route", "curator", executors=["zhkh"])
    with pytest.raises(InvalidTransition):
        step(case, "published", "system")
    with pytest.raises(InvalidTransition):
        step(case, "approve", "curator")


def test_return_and_reroute():
    case = new_case(profile=severny, channel="social", identified_at=T0)
    case = step(case, "route", "curator", executors=["zhkh"])
    late = T0 + timedelta(hours=2)
    case = step(case, "return", "executor", at=late, department="zhkh", comment="не наша компетенция")
    assert case.state == CaseState.RETURNED and case.returns[0]["late"] is True  # 30 min wh, 003 §6
    assert step(case, "route", "curator", executors=["dorogi"]).executors == ["dorogi"]


def test_intermediate_answer_sets_final_due_in_seven_working_days():
    case = new_case(profile=severny, channel="social", identified_at=T0)
    case = step(case, "route", "curator", executors=["zhkh"])
    case = step(case, "submit_draft", "executor", kind="intermediate")
    case = step(case, "approve", "curator")
    case = step(case, "published", "system", at=T0)
    assert case.state == CaseState.FINAL_DUE
    assert case.deadlines.final_by_after_intermediate == datetime(2025, 3, 14, 18, tzinfo=NSK)  # 003 §11
    assert step(case, "submit_draft", "executor").state == CaseState.ON_APPROVAL


def test_importance_change_recomputes_deadlines():
    mosk = load_profile("moskalensky")
    omsk = ZoneInfo("Asia/Omsk")
    t0 = datetime(2025, 3, 5, 10, 0, tzinfo=omsk)
    case = new_case(profile=mosk, channel="social", identified_at=t0)
    assert case.deadlines.answer_by == datetime(2025, 3, 6, 11, tzinfo=omsk)  # 002 §8: 9 h
    case = step(case, "set_importance", "curator", mosk, importance="high")
    assert case.deadlines.answer_by == datetime(2025, 3, 5, 15, tzinfo=omsk)  # 002 §8: 4 h, lunch skipped


def test_kamchatka_extension_and_feedback():
    sob = load_profile("sobolevo")
    kam = ZoneInfo("Asia/Kamchatka")
    t0 = datetime(2025, 3, 5, 10, tzinfo=kam)
    case = new_case(profile=sob, channel="kamchatka", identified_at=t0)
    assert case.deadlines.answer_by == datetime(2025, 3, 15, 10, tzinfo=kam)  # 10 calendar days
    case = step(case, "route", "curator", sob, executors=["zhkh"])
    with pytest.raises(InvalidTransition):
        step(case, "request_extension", "executor", sob, days=9, comment="нужен подрядчик")  # at most 8
    with pytest.raises(InvalidTransition):
        step(case, "request_extension", "executor", sob, days=5, comment=" ")  # a comment is required
    case = step(case, "request_extension", "executor", sob, days=5, comment="ждём подрядчика")
    case = step(case, "decide_extension", "curator", sob, granted=True)
    assert case.deadlines.answer_by == datetime(2025, 3, 20, 10, tzinfo=kam)
    case = step(case, "submit_draft", "executor", sob)
    case = step(case, "approve", "curator", sob)
    case = step(case, "published", "system", sob)
    assert case.state == CaseState.AWAITING_FEEDBACK
    reopened = step(case, "feedback", "system", sob, kind="rework", comment="не сделано")
    assert reopened.state == CaseState.ROUTED  # 000 app. 2 §2.7–2.8: rework goes back to work
    assert step(case, "feedback", "system", sob, kind="confirm").state == CaseState.ACCEPTED


def test_kamchatka_fast_track():
    sob = load_profile("sobolevo")
    kam = ZoneInfo("Asia/Kamchatka")
    d = compute_deadlines(sob, "kamchatka", datetime(2025, 3, 5, 10, tzinfo=kam), fast_track=True)
    assert d.answer_by == datetime(2025, 3, 8, 10, tzinfo=kam)  # 000 app. 2 §2.6: up to 3 calendar days


def test_im_silence_for_two_days_means_accepted():
    tash = load_profile("tashtagol")
    case = new_case(profile=tash, channel="im", identified_at=T0)
    case = step(case, "route", "curator", tash, executors=["zhkh"])
    case = step(case, "submit_draft", "executor", tash)
    case = step(case, "approve", "curator", tash)
    case = step(case, "published", "system", tash, at=T0)
    assert case.deadlines.feedback_until == T0 + timedelta(days=2)  # 004 §2.1
    assert step(case, "feedback", "system", tash, kind="silence").state == CaseState.ACCEPTED


def test_escalation_near_due_then_overdue_once_each():
    case = new_case(profile=severny, channel="social", identified_at=T0)
    sent: set[str] = set()
    assert due_events(case, T0 + timedelta(minutes=10), severny, sent) == []
    near = due_events(case, T0 + timedelta(minutes=50), severny, sent)  # route_by at 11:00 (1 h)
    assert [e.kind for e in near] == ["near_due"] and near[0].step == "route_by"
    sent |= {e.key for e in near}
    assert due_events(case, T0 + timedelta(minutes=55), severny, sent) == []
    over = due_events(case, T0 + timedelta(hours=2), severny, sent)
    assert [(e.kind, e.step) for e in over] == [("overdue", "route_by")]
    assert "head" in over[0].notify  # 001 §21, 002 §20: missed deadlines reach the head
