"""The case lifecycle: states, who may do what, the audit trail, and deadlines that follow what
actually happened."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from otklik.exceptions import InvalidTransition, PermissionDenied
from regulation.case import CaseRecord
from regulation.lifecycle import CaseEvent, CaseState, new_case, replay, transition
from regulation.profiles import load_profile

S = CaseState
NSK, OMSK, KAM, MSK, NKZ = (
    ZoneInfo(z)
    for z in ("Asia/Novosibirsk", "Asia/Omsk", "Asia/Kamchatka", "Europe/Moscow", "Asia/Novokuznetsk")
)
P = {name: load_profile(name) for name in ("sobolevo", "zarechny", "moskalensky", "severny", "tashtagol")}


def t(tz, day, h, mi=0):
    return datetime(2025, 3, day, h, mi, tzinfo=tz)


T0 = t(NSK, 5, 10)  # Wednesday


def step(case, action, role, profile="severny", at=T0, **data):
    return transition(case, action, actor_role=role, at=at, profile=P[profile], **data)[0]


def case_for(profile="severny", channel="social", at=T0, **kw):
    return new_case(profile=P[profile], channel=channel, identified_at=at, **kw)


def test_full_path_with_revision_and_audit():
    case = case_for()
    assert case.state == S.IDENTIFIED
    case, entry = transition(
        case, "route", actor_role="curator", at=T0, profile=P["severny"], executors=["dorogi"]
    )
    assert (entry.from_state, entry.to_state, entry.late) == (S.IDENTIFIED, S.ROUTED, False)
    case = step(case, "take", "executor")
    assert case.state == S.DRAFTING
    case = step(case, "submit_draft", "executor", at=t(NSK, 5, 11))
    case, entry = transition(
        case,
        "send_back",
        actor_role="curator",
        at=t(NSK, 5, 12, 30),
        profile=P["severny"],
        comment="Добавьте сроки",
    )
    assert case.state == S.REVISION and case.revisions == 1 and entry.data == {"comment": "Добавьте сроки"}
    assert case.deadlines.revise_by == t(NSK, 5, 14, 30).astimezone(UTC)  # 003 §9: 1 wh, lunch skipped
    case = step(case, "submit_draft", "executor", at=t(NSK, 5, 14, 30))
    case = step(case, "approve", "curator", at=t(NSK, 5, 14, 40))
    case = step(case, "publishing", "system", at=t(NSK, 5, 14, 41))
    case = step(case, "published", "system", at=t(NSK, 5, 14, 42), url="https://vk.com/wall-1_2")
    assert case.state == S.PUBLISHED and case.published_url == "https://vk.com/wall-1_2"


def test_replay_gives_the_same_record_and_a_trail():
    events = [
        CaseEvent(action="route", actor_role="curator", at=T0, data={"executors": ["zhkh"]}),
        CaseEvent(action="submit_draft", actor_role="executor", at=T0 + timedelta(hours=1)),
        CaseEvent(action="approve", actor_role="curator", at=T0 + timedelta(hours=2)),
        CaseEvent(action="published", actor_role="system", at=T0 + timedelta(hours=2, minutes=5)),
    ]
    case, trail = replay(case_for(), events, P["severny"])
    assert case.state == S.PUBLISHED
    assert [e.to_state for e in trail] == [S.ROUTED, S.ON_APPROVAL, S.APPROVED, S.PUBLISHED]
    # The record survives the lead's JSON round trip.
    assert CaseRecord.model_validate(case.model_dump(mode="json")) == case


@pytest.mark.parametrize(
    "profile,channel,approver,others",
    [
        ("sobolevo", "social", "head", ["curator", "executor"]),  # 000 §13–14
        ("zarechny", "social", "curator", ["head", "executor"]),  # 001 §11–12
        ("moskalensky", "social", "curator", ["head", "executor"]),  # 002 §9–10
        ("severny", "pos", "curator", ["head", "executor"]),  # 003 прил. 1 §11
        ("tashtagol", "pos", "curator", ["head", "executor"]),  # 004 §2.2: the responsible person
        ("tashtagol", "governor", "approver", ["curator", "executor"]),  # 004 §2.4: the department's head
    ],
)
def test_only_the_profiles_approver_approves(profile, channel, approver, others):
    case = case_for(profile, channel)
    case = step(case, "route", "curator", profile, executors=["zhkh"])
    case = step(case, "submit_draft", "executor", profile, contacted_author=True)
    for role in others:
        with pytest.raises(PermissionDenied):
            step(case, "approve", role, profile)
    assert step(case, "approve", approver, profile).state == S.APPROVED
    assert step(case, "approve", "approver", profile).state == S.APPROVED  # a designated deputy


def test_approval_on_a_regional_platform():
    """004 §2.1: the responsible person sends the answer into Incident Management, where the
    regional curators approve it; a refusal comes back and the case returns to revision."""
    case = case_for("tashtagol", "im", at=t(NKZ, 5, 10))
    case = step(case, "route", "curator", "tashtagol", executors=["zhkh"])
    case = step(case, "submit_draft", "executor", "tashtagol", kind="answer")
    case = step(case, "approve", "curator", "tashtagol")
    case = step(case, "published", "system", "tashtagol")
    back = step(case, "platform_returned", "system", "tashtagol", comment="дополните ответ")
    assert back.state == S.REVISION and back.revisions == 1
    # A profile may leave approval to the platform alone: then nobody approves locally.
    remote = P["tashtagol"].model_copy(deep=True)
    remote.channels["im"].approver_role = "system"
    case = transition(
        case_for("tashtagol", "im", at=t(NKZ, 5, 10)),
        "route",
        actor_role="curator",
        at=T0,
        profile=remote,
        executors=["zhkh"],
    )[0]
    case = transition(case, "submit_draft", actor_role="executor", at=T0, profile=remote)[0]
    for role in ("curator", "approver", "head"):
        with pytest.raises(PermissionDenied):
            transition(case, "approve", actor_role=role, at=T0, profile=remote)
    assert transition(case, "approve", actor_role="system", at=T0, profile=remote)[0].state == S.APPROVED


def test_the_curator_may_also_send_back_where_the_document_says_so():
    case = case_for("tashtagol", "governor", at=t(NKZ, 5, 10))
    case = step(case, "route", "curator", "tashtagol", executors=["zhkh"])
    case = step(case, "submit_draft", "executor", "tashtagol", contacted_author=True)
    assert (
        step(case, "send_back", "curator", "tashtagol", comment="уточните адрес").state == S.REVISION
    )  # 004 §2.4
    with pytest.raises(PermissionDenied):
        step(case, "approve", "curator", "tashtagol")


def test_who_may_route_draft_and_skip_steps():
    case = case_for()
    with pytest.raises(PermissionDenied):
        step(case, "route", "executor", executors=["zhkh"])
    with pytest.raises(InvalidTransition):
        step(case, "submit_draft", "executor")  # not routed yet
    case = step(case, "route", "curator", executors=["zhkh"])
    with pytest.raises(InvalidTransition):
        step(case, "published", "system")  # no approval yet
    with pytest.raises(InvalidTransition):
        step(case, "approve", "curator")
    with pytest.raises(InvalidTransition):
        step(case, "route", "curator", executors=[])
    with pytest.raises(InvalidTransition, match="route needs executors"):
        step(case, "route", "curator")
    with pytest.raises(InvalidTransition):
        step(case, "fly_away", "curator")
    case = step(case, "submit_draft", "executor")
    with pytest.raises(InvalidTransition):
        step(case, "send_back", "curator", comment="  ")  # 000 §15: recommendations are given


def test_return_and_reroute_with_a_late_flag():
    case = case_for()
    case = step(case, "route", "curator", executors=["zhkh"])
    case, entry = transition(
        case,
        "return",
        actor_role="executor",
        at=t(NSK, 5, 12, 30),
        profile=P["severny"],
        department="zhkh",
        comment="не наша компетенция",
    )
    assert case.state == S.RETURNED and case.returns[0]["late"] is True and entry.late
    assert case.executors == []
    assert case.deadlines.route_by == t(NSK, 5, 14, 30).astimezone(
        UTC
    )  # re-route: 1 wh from the return, lunch skipped
    case = step(case, "route", "curator", executors=["dorogi"], at=T0 + timedelta(hours=3))
    assert case.executors == ["dorogi"] and case.state == S.ROUTED


def test_003_the_authorised_person_returns_to_the_regional_curator():
    """003 §6: not the district's competence → back to the ЦУР curator within 30 working minutes."""
    case, entry = transition(
        case_for(),
        "close",
        actor_role="curator",
        at=T0 + timedelta(minutes=20),
        profile=P["severny"],
        reason="not_competent",
    )
    assert case.state == S.CLOSED and case.closed_reason == "not_competent" and not entry.late
    _, entry = transition(
        case_for(),
        "close",
        actor_role="curator",
        at=T0 + timedelta(minutes=40),
        profile=P["severny"],
        reason="not_competent",
    )
    assert entry.late and entry.clause == "003 §6"
    with pytest.raises(InvalidTransition):
        step(case_for(), "close", "curator", reason="bored")


def test_002_repeat_without_new_arguments_is_not_processed():
    """002 §18 ¶2."""
    case = step(case_for("moskalensky"), "close", "curator", "moskalensky", reason="repeat_answered")
    assert case.state == S.CLOSED
    with pytest.raises(InvalidTransition):
        step(case, "route", "curator", "moskalensky", executors=["zhkh"])


def test_intermediate_answer_then_final_in_seven_working_days():
    case = case_for()
    case = step(case, "route", "curator", executors=["zhkh"])
    case = step(case, "submit_draft", "executor", kind="intermediate")
    case = step(case, "approve", "curator")
    case = step(case, "published", "system", at=T0)
    assert case.state == S.FINAL_DUE and case.intermediate_at == T0.astimezone(UTC)
    assert case.deadlines.final_by_after_intermediate == t(NSK, 14, 18).astimezone(UTC)  # 003 §11
    with pytest.raises(InvalidTransition):
        step(case, "submit_draft", "executor", kind="intermediate")  # the next one is the final answer
    case, entry = transition(
        case, "submit_draft", actor_role="executor", at=t(NSK, 17, 9), profile=P["severny"]
    )
    assert case.state == S.ON_APPROVAL and entry.late and entry.clause == "003 §11"  # the final draft was due


def test_a_clarifying_question_is_followed_by_the_answer():
    case = case_for("zarechny", at=t(MSK, 5, 10))
    case = step(case, "route", "curator", "zarechny", executors=["zhkh"])
    case = step(case, "submit_draft", "executor", "zarechny", kind="clarify")
    case = step(case, "approve", "curator", "zarechny")
    case = step(case, "published", "system", "zarechny", at=t(MSK, 5, 12))
    assert case.state == S.FINAL_DUE and case.deadlines.final_by_after_intermediate is not None


def test_importance_change_recomputes_the_deadlines():
    t0 = t(OMSK, 5, 10)
    case = case_for("moskalensky", at=t0)
    assert case.deadlines.answer_by == t(OMSK, 6, 11).astimezone(UTC)  # 002 §8: 9 h
    case = step(case, "route", "curator", "moskalensky", at=t0, executors=["dorogi", "zhkh"])
    assert case.coexecutors[0].input_by == t(OMSK, 5, 12).astimezone(UTC)  # 002 §14.4: 2 h
    case = step(case, "set_importance", "curator", "moskalensky", at=t(OMSK, 5, 10, 20), importance="high")
    assert case.deadlines.answer_by == t(OMSK, 5, 15).astimezone(UTC)  # 002 §8 ¶2: 4 h, lunch skipped
    assert case.deadlines.draft_by == t(OMSK, 5, 12).astimezone(UTC)  # 002 §9 ¶2
    assert case.coexecutors[0].input_by == t(OMSK, 5, 10, 45).astimezone(
        UTC
    )  # 002 §14.4: 45 min from receipt
    with pytest.raises(PermissionDenied):
        step(case, "set_importance", "executor", "moskalensky", importance="normal")


def test_002_sequential_coexecutors_and_the_joint_draft():
    """002 §14: the curator's order, the responsible executor first, 2 h each, the joint draft
    2 h after the inputs."""
    t0 = t(OMSK, 5, 9)
    case = case_for("moskalensky", at=t0)
    case = step(case, "route", "curator", "moskalensky", at=t0, executors=["dorogi", "zhkh", "blag"])
    assert case.responsible == "dorogi"
    first, second = case.coexecutors
    assert (first.department, first.received_at, first.input_by) == (
        "zhkh",
        t0.astimezone(UTC),
        t(OMSK, 5, 11).astimezone(UTC),
    )
    assert second.received_at is None and second.input_by == t(OMSK, 5, 13).astimezone(UTC)  # planned
    with pytest.raises(InvalidTransition):
        step(case, "coexecutor_input", "executor", "moskalensky", department="blag")  # not its turn yet
    case = step(case, "coexecutor_input", "executor", "moskalensky", at=t(OMSK, 5, 10), department="zhkh")
    assert case.coexecutors[1].received_at == t(OMSK, 5, 10).astimezone(UTC)
    assert case.coexecutors[1].input_by == t(OMSK, 5, 12).astimezone(UTC)
    case, entry = transition(
        case,
        "coexecutor_input",
        actor_role="executor",
        at=t(OMSK, 5, 14, 30),
        profile=P["moskalensky"],
        department="blag",
    )
    assert entry.late  # due at 12:00
    assert case.milestones.coexecutors_done_at == t(OMSK, 5, 14, 30).astimezone(UTC)
    assert case.deadlines.joint_draft_by == t(OMSK, 5, 16, 30).astimezone(UTC)  # 002 §14.5: 2 h after


def test_001_the_last_executor_writes_the_joint_answer():
    case = step(
        case_for("zarechny", at=t(MSK, 5, 10)),
        "route",
        "curator",
        "zarechny",
        at=t(MSK, 5, 10),
        executors=["a", "b", "c"],
    )
    assert case.responsible == "c" and [m.department for m in case.coexecutors] == ["a", "b"]  # 001 §16


def test_000_the_head_names_the_responsible_executor():
    case = step(
        case_for("sobolevo", at=t(KAM, 5, 10)),
        "route",
        "curator",
        "sobolevo",
        at=t(KAM, 5, 10),
        executors=["a", "b"],
    )
    assert case.responsible == "a" and case.coexecutors[0].input_by == t(KAM, 5, 12).astimezone(UTC)  # §19.3
    with pytest.raises(PermissionDenied):
        step(case, "set_responsible", "curator", "sobolevo", responsible="b")
    case = step(case, "set_responsible", "head", "sobolevo", at=t(KAM, 5, 10), responsible="b")  # 000 §19.1
    assert case.responsible == "b" and [m.department for m in case.coexecutors] == ["a"]


def test_003_pos_coexecutors_have_half_the_term():
    case = step(case_for("severny", "pos"), "route", "curator", executors=["a", "b"])
    assert case.coexecutors[0].input_by == datetime(2025, 3, 15, 23, 59, 59, tzinfo=NSK).astimezone(UTC)


def test_kamchatka_extension_fast_track_and_feedback():
    sob, t0 = "sobolevo", t(KAM, 5, 10)
    case = case_for(sob, "kamchatka", at=t0)
    case = step(case, "route", "system", sob, at=t0, executors=["zhkh"])  # 000 прил. 2 §2.2: automatic
    with pytest.raises(InvalidTransition):
        step(case, "request_extension", "executor", sob, days=9, comment="нужен подрядчик")  # at most 8
    with pytest.raises(InvalidTransition):
        step(case, "request_extension", "executor", sob, days=5, comment=" ")  # with a comment
    case = step(case, "request_extension", "executor", sob, days=5, comment="ждём подрядчика")
    with pytest.raises(InvalidTransition):
        step(case, "request_extension", "executor", sob, days=1, comment="ещё")  # one waits already
    with pytest.raises(PermissionDenied):
        step(case, "decide_extension", "executor", sob, granted=True)
    case = step(case, "decide_extension", "curator", sob, granted=True)
    assert case.deadlines.answer_by == datetime(2025, 3, 20, 23, 59, 59, tzinfo=KAM).astimezone(UTC)
    case = step(case, "request_extension", "executor", sob, days=3, comment="и ещё чуть-чуть")
    case = step(case, "decide_extension", "curator", sob, granted=True)
    assert case.extension_days_granted == 8
    with pytest.raises(InvalidTransition):
        step(case, "request_extension", "executor", sob, days=1, comment="больше нельзя")
    case = step(case, "submit_draft", "executor", sob)
    case = step(case, "approve", "approver", sob)
    case = step(case, "published", "system", sob, at=t(KAM, 7, 10))
    assert case.state == S.AWAITING_FEEDBACK
    rated = step(case, "feedback", "system", sob, kind="rate", rating=2)
    assert rated.state == S.AWAITING_FEEDBACK and rated.feedback_history[-1].rating == 2
    with pytest.raises(InvalidTransition):
        step(case, "feedback", "system", sob, kind="silence")  # no silence term on this platform
    reopened = step(case, "feedback", "system", sob, at=t(KAM, 9, 12), kind="rework", comment="не сделано")
    assert (
        reopened.state == S.ROUTED and reopened.executors == ["zhkh"] and reopened.reopened == 1
    )  # §2.7–2.8
    # The rework is answered within the term counted from the citizen's request.
    assert reopened.deadlines.answer_by == datetime(2025, 3, 27, 23, 59, 59, tzinfo=KAM).astimezone(UTC)
    assert step(case, "feedback", "system", sob, kind="confirm").state == S.ACCEPTED


def test_kamchatka_fast_track_term_set_by_the_coordinator():
    sob, t0 = "sobolevo", t(KAM, 5, 10)
    fast = case_for(sob, "kamchatka", at=t0, fast_track=True)
    assert fast.deadlines.answer_by == datetime(2025, 3, 8, 23, 59, 59, tzinfo=KAM).astimezone(UTC)
    shorter = step(fast, "set_term", "curator", sob, answer_by=datetime(2025, 3, 6, 23, 59, 59, tzinfo=KAM))
    assert shorter.deadlines.answer_by == datetime(2025, 3, 6, 23, 59, 59, tzinfo=KAM).astimezone(UTC)
    with pytest.raises(InvalidTransition):  # 000 прил. 2 §2.6: not under 1 day
        step(fast, "set_term", "curator", sob, answer_by=datetime(2025, 3, 5, 20, tzinfo=KAM))
    with pytest.raises(InvalidTransition):  # only shorter
        step(fast, "set_term", "curator", sob, answer_by=datetime(2025, 3, 12, tzinfo=KAM))
    with pytest.raises(InvalidTransition):  # only fast-track messages
        step(
            case_for(sob, "kamchatka", at=t0),
            "set_term",
            "curator",
            sob,
            answer_by=datetime(2025, 3, 7, tzinfo=KAM),
        )


def test_000_the_head_may_shorten_the_term():
    case = case_for("sobolevo", at=t(KAM, 5, 10))
    with pytest.raises(PermissionDenied):
        step(case, "set_term", "executor", "sobolevo", answer_by=t(KAM, 5, 14))
    case = step(case, "set_term", "head", "sobolevo", at=t(KAM, 5, 10), answer_by=t(KAM, 5, 14))  # 000 §18
    assert case.deadlines.answer_by == t(KAM, 5, 14).astimezone(UTC)
    assert case.deadlines.draft_by < case.deadlines.answer_by
    with pytest.raises(PermissionDenied):
        step(case_for(), "set_term", "curator", answer_by=T0 + timedelta(hours=2))  # 003 sets no shortening


def test_002_high_importance_final_term_is_set_by_the_curator():
    t0 = t(OMSK, 5, 10)
    case = case_for("moskalensky", at=t0, importance="high")
    case = step(case, "route", "curator", "moskalensky", at=t0, executors=["zhkh"])
    case = step(case, "submit_draft", "executor", "moskalensky", at=t0, kind="intermediate")
    case = step(case, "approve", "curator", "moskalensky", at=t0)
    case = step(case, "published", "system", "moskalensky", at=t(OMSK, 5, 11))
    assert case.state == S.FINAL_DUE and case.deadlines.final_by_after_intermediate is None
    case = step(case, "set_final_term", "curator", "moskalensky", at=t(OMSK, 5, 12), final_by=t(OMSK, 12, 18))
    assert case.deadlines.final_by_after_intermediate == t(OMSK, 12, 18).astimezone(UTC)
    with pytest.raises(InvalidTransition):  # normal importance: 7 working days, not negotiable
        step(
            case_for("moskalensky", at=t0),
            "set_final_term",
            "curator",
            "moskalensky",
            final_by=t(OMSK, 20, 18),
        )


def test_004_incident_management_feedback_silence_and_comments():
    tash, t0 = "tashtagol", t(NKZ, 5, 10)
    case = case_for(tash, "im", at=t0, platform_deadline=t(NKZ, 6, 12))
    case = step(case, "route", "curator", tash, at=t0, executors=["zhkh"])
    case = step(case, "submit_draft", "executor", tash, at=t0)
    case = step(case, "approve", "curator", tash, at=t0)
    case = step(case, "published", "system", tash, at=t(NKZ, 5, 11))
    assert case.state == S.AWAITING_FEEDBACK
    assert case.deadlines.feedback_until == t(NKZ, 7, 11).astimezone(UTC)  # 004 §2.1: two days
    with pytest.raises(InvalidTransition):
        step(case, "feedback", "system", tash, at=t(NKZ, 6, 11), kind="silence")  # not yet
    assert step(case, "feedback", "system", tash, at=t(NKZ, 7, 11), kind="silence").state == S.ACCEPTED
    assert (
        step(case, "feedback", "system", tash, at=t(NKZ, 6, 9), kind="comment").state == S.ROUTED
    )  # back to work
    back = step(case, "platform_returned", "system", tash, at=t(NKZ, 5, 12), comment="не принято")
    assert back.state == S.REVISION  # a negative decision of the regional curators


def test_004_kuzbass_online_needs_an_outcome_and_the_governor_a_contact():
    tash = "tashtagol"
    case = step(
        case_for(tash, "kuzbass_online", at=t(NKZ, 5, 10)), "route", "curator", tash, executors=["zhkh"]
    )
    with pytest.raises(InvalidTransition):
        step(case, "submit_draft", "executor", tash)  # 004 §2.3: решено or разъяснено
    with pytest.raises(InvalidTransition):
        step(case, "submit_draft", "executor", tash, outcome="отложено")
    case = step(case, "submit_draft", "executor", tash, outcome="разъяснено")
    assert step(case, "approve", "executor", tash).state == S.APPROVED  # the executor publishes (§2.3)
    gov = step(case_for(tash, "governor", at=t(NKZ, 5, 10)), "route", "curator", tash, executors=["zhkh"])
    with pytest.raises(InvalidTransition):
        step(gov, "submit_draft", "executor", tash)  # 004 §2.4: contact the author first
    assert step(gov, "submit_draft", "executor", tash, contacted_author=True).state == S.ON_APPROVAL


def test_repeats_are_linked_and_decided():
    case = case_for("sobolevo", "kamchatka", at=t(KAM, 5, 10))
    assert not case.must_report_measures
    case, entry = transition(
        case, "decide_repeat", actor_role="executor", at=t(KAM, 7, 10), profile=P["sobolevo"], repeat_of=41
    )
    assert case.repeat_of == 41 and case.repeat_decided and case.must_report_measures
    assert entry.late  # 000 прил. 2 §2.9: within 1 working day (by the 6th, 18:00)
    linked = step(case_for(), "link_repeat", "curator", repeat_of=7)
    assert linked.repeat_of == 7


def test_publishing_can_fail_and_be_retried():
    case = case_for()
    for action, role in (
        ("route", "curator"),
        ("submit_draft", "executor"),
        ("approve", "curator"),
        ("publishing", "system"),
        ("publish_failed", "system"),
    ):
        case = step(case, action, role, executors=["zhkh"])
    assert case.state == S.APPROVED
    case = step(case, "published", "system")
    assert case.state == S.PUBLISHED


def test_nothing_happens_to_a_closed_or_accepted_case():
    closed = step(case_for(), "close", "curator", reason="abusive")
    for action in ("route", "set_importance", "submit_draft", "close"):
        with pytest.raises(InvalidTransition):
            step(closed, action, "curator", executors=["x"], importance="high", reason="other")
