"""Every feedback kind of every regional platform (comment, rating, rework, confirmation, rejection,
silence) as its connector reports it, read by otklik/services/feedback.py and applied by the pure
lifecycle to a published case of the profile that covers that platform: the state its regulation
says, with the deadlines recomputed. Each row names its clause."""

from datetime import UTC, datetime, timedelta

import pytest

from connectors.incident_management.mapping import map_incident
from connectors.kamchatka.mapping import status_changes as kamchatka_changes
from connectors.kuzbass_online.mapping import status_changes as kuzbass_changes
from connectors.pos.mapping import status_changes as pos_changes
from otklik.services import access, feedback
from regulation.lifecycle import CaseState, new_case, transition
from regulation.profiles import load_profile

S = CaseState
T0 = datetime(2026, 3, 3, 3, 0, tzinfo=UTC)  # a Tuesday, within working hours in Siberia and Kamchatka
AT = T0 + timedelta(days=1)
ISO = AT.isoformat()
NEW_DEADLINE = (AT + timedelta(days=10)).isoformat()


def im(event: dict) -> list:
    incident = {"id": 7, "source": {"network": "vk"}, "created_at": T0.isoformat(), "status": "x",
                "history": [{"seq": 1, "at": ISO, **event}]}
    return map_incident(incident, "im")[1]


def kam(event: dict) -> list:
    return kamchatka_changes({"id": 9, "deadline": NEW_DEADLINE, "events": [{"at": ISO, **event}]})


def pos(**appeal) -> list:
    return pos_changes({"id": 5, **appeal})


def kuz(event: dict) -> list:
    return kuzbass_changes({"id": 3, "history": [{"at": ISO, **event}]})


# (clause, profile, channel, the platform's changes, expected state, expected feedback kind)
ROWS = [
    ("004 §2.1 comment returns to work", "tashtagol", "im", im({"type": "citizen_comment", "comment": "нет"}),
     S.ROUTED, "comment"),
    ("004 §2.1 rating is kept", "tashtagol", "im", im({"type": "rated", "rating": 4}), S.AWAITING_FEEDBACK, "rate"),
    ("004 §2.1 platform's two days of silence accept", "tashtagol", "im", im({"type": "feedback_accepted"}),
     S.ACCEPTED, "closed"),
    ("004 §2.1 rejection by the regional centre returns it", "tashtagol", "im",
     im({"type": "answer_returned", "comment": "нет сроков"}), S.REVISION, None),
    ("004 §2.2 negative comment by the user", "tashtagol", "pos",
     pos(comments=[{"negative": True, "text": "не решено", "createdAt": ISO, "authorType": "APPLICANT"}]),
     S.ROUTED, "negative_comment"),
    ("004 §2.2 negative comment by a moderator", "tashtagol", "pos",
     pos(comments=[{"negative": True, "text": "доработать", "createdAt": ISO, "authorType": "MODERATOR"}]),
     S.ROUTED, "negative_comment"),
    ("004 §2.2 answer returned by the moderator", "tashtagol", "pos",
     pos(answers=[{"approvalStatus": "RETURNED", "reviewedAt": ISO, "approvalComment": "нет"}]), S.REVISION, None),
    ("004 §2.2 rating is kept", "tashtagol", "pos", pos(rating={"value": 2, "createdAt": ISO}),
     S.AWAITING_FEEDBACK, "rate"),
    ("000 прил. 2 §2.8 rework is re-assigned", "sobolevo", "kamchatka", kam({"type": "rework", "comment": "нет"}),
     S.ROUTED, "rework"),
    ("000 прил. 2 §2.7 confirmation accepts", "sobolevo", "kamchatka", kam({"type": "confirmed"}),
     S.ACCEPTED, "confirm"),
    ("000 прил. 2 §2.7 rating is kept", "sobolevo", "kamchatka", kam({"type": "rated", "rating": 5}),
     S.AWAITING_FEEDBACK, "rate"),
    ("004 §2.3 the platform reopens", "tashtagol", "kuzbass_online", kuz({"type": "reopened"}), S.ROUTED, "reopened"),
    ("004 §2.3 moderator returns", "tashtagol", "kuzbass_online", kuz({"type": "returned", "comment": "нет"}),
     S.REVISION, None),
]


def published(profile, channel):
    case = new_case(profile=profile, channel=channel, identified_at=T0,
                    platform_deadline=T0 + timedelta(hours=20))
    step = lambda c, action, role, **d: transition(c, action, actor_role=role, at=T0 + timedelta(hours=1),  # noqa: E731
                                                   profile=profile, **d)[0]
    case = step(case, "route", "curator", executors=["dorogi"])
    extra = {"outcome": "решено"} if channel == "kuzbass_online" else {}
    case = step(case, "submit_draft", "executor", **extra)
    case = step(case, "approve", sorted(access.roles_for("approve", profile, channel))[0])
    return step(case, "published", "system")


@pytest.mark.parametrize(("clause", "profile", "channel", "changes", "state", "kind"), ROWS,
                         ids=[r[0] for r in ROWS])
def test_feedback_by_clause(clause, profile, channel, changes, state, kind):
    p = load_profile(profile)
    case = published(p, channel)
    assert case.state in (S.AWAITING_FEEDBACK, S.PUBLISHED)
    (change,) = changes
    action, data = feedback.platform_action(change.status, change.raw)
    new, entry = transition(case, action, actor_role="system", at=change.at, profile=p,
                            comment=change.comment or "", rating=change.rating, **data)
    assert new.state == state, clause
    if kind is not None:
        assert new.feedback["kind"] == kind
    if state == S.ROUTED:  # back to the same executor, the term counted anew from the citizen's word
        assert new.executors == ["dorogi"] and new.milestones.reopened_at == change.at
        assert new.deadlines.counted_from.get("answer_by", change.at) == change.at
        assert new.platform_deadline is None or new.platform_deadline > change.at


def test_000_app2_s2_8_rework_takes_the_platforms_new_term():
    p = load_profile("sobolevo")
    case = published(p, "kamchatka")
    (change,) = kam({"type": "rework", "comment": "не сделано"})
    action, data = feedback.platform_action(change.status, change.raw)
    assert data["platform_deadline"] == datetime.fromisoformat(NEW_DEADLINE)
    new, _ = transition(case, action, actor_role="system", at=change.at, profile=p, **data)
    assert new.deadlines.answer_by <= datetime.fromisoformat(NEW_DEADLINE)
    assert new.deadlines.answer_by > change.at


def test_000_app2_s2_5_a_platform_granted_extension_is_not_refused_as_system():
    p = load_profile("sobolevo")
    assert "system" not in access.roles_for("decide_extension", p, "kamchatka")
    role = access.platform_role("decide_extension", "sobolevo", "kamchatka")
    assert role == "curator"  # the coordinator's decision, taken on the platform
    assert access.platform_role("feedback", "sobolevo", "kamchatka") == "system"
    case = new_case(profile=p, channel="kamchatka", identified_at=T0)
    case = transition(case, "route", actor_role="curator", at=T0, profile=p, executors=["dorogi"])[0]
    case = transition(case, "request_extension", actor_role="executor", at=T0, profile=p, days=5,
                      comment="поставка")[0]
    (change,) = kam({"type": "extension_granted", "days": 5})
    action, data = feedback.platform_action(change.status, change.raw)
    new, entry = transition(case, action, actor_role=role, at=change.at, profile=p, **data)
    assert new.extension.granted is True and new.platform_deadline == datetime.fromisoformat(NEW_DEADLINE)


# The recorded exchanges of each regional platform's status changes (fixtures/<platform>/status_changes.json).
RECORDED = {
    "incident_management": ("tashtagol", "im", lambda body: [c for item in body["items"]
                                                             for c in map_incident(item, "im")[1]]),
    "kamchatka": ("sobolevo", "kamchatka", lambda body: [c for item in body["data"] for c in kamchatka_changes(item)]),
    "pos": ("tashtagol", "pos", lambda body: [c for item in body["content"] for c in pos_changes(item)]),
    "kuzbass_online": ("tashtagol", "kuzbass_online", lambda body: [c for item in body["items"]
                                                                    for c in kuzbass_changes(item)]),
}
NOT_CASE_STEPS = {"approved", "solved", "explained"}  # regional approval → posting; a result we reported


@pytest.mark.parametrize("platform", list(RECORDED))
def test_every_recorded_status_change_is_understood_and_moves_a_published_case(platform):
    import json
    from pathlib import Path

    profile_name, channel, changes_of = RECORDED[platform]
    p = load_profile(profile_name)
    recorded = json.loads((Path(__file__).parents[2] / "fixtures" / platform / "status_changes.json").read_text())
    changes = [c for i in recorded["interactions"] if isinstance(i["response"].get("json"), dict)
               and i["request"]["path"] != "/user-service/oauth/token" for c in changes_of(i["response"]["json"])]
    assert changes, "the recording holds status changes"
    moved = set()
    for change in changes:
        found = feedback.platform_action(change.status, change.raw)
        if change.status in NOT_CASE_STEPS:
            assert found is None
            continue
        assert found is not None, change.status
        action, data = found
        case = published(p, channel)
        if action == "decide_extension":
            case = transition(case.model_copy(update={"state": S.ROUTED}), "request_extension",
                              actor_role="executor", at=T0, profile=p, days=3, comment="поставка")[0]
        role = access.platform_role(action, profile_name, channel)
        at = max(change.at, T0 + timedelta(hours=2))
        new, _ = transition(case, action, actor_role=role, at=at, profile=p, comment=change.comment or "",
                            rating=change.rating, **data)
        moved.add((change.status, new.state))
    assert moved
