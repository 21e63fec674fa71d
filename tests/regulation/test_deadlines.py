"""Deadlines of every step, per profile and channel, computed by hand from the documents.

Reference moments: Wednesday 5 March 2025 is an ordinary working day; Friday 7 March 2025 is a
pre-holiday day (one hour shorter); 8 March is a holiday and Monday 10 March the next working
day."""

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from otklik.cli import main
from regulation.deadlines import Milestones, compute_deadlines, full_term_chain
from regulation.profiles import load_profile

KAM, MSK, OMSK = ZoneInfo("Asia/Kamchatka"), ZoneInfo("Europe/Moscow"), ZoneInfo("Asia/Omsk")
NSK, NKZ = ZoneInfo("Asia/Novosibirsk"), ZoneInfo("Asia/Novokuznetsk")
P = {name: load_profile(name) for name in ("sobolevo", "zarechny", "moskalensky", "severny", "tashtagol")}


def local(d, step, tz):
    value = getattr(d, step)
    return value.astimezone(tz) if value else None


def t(tz, day, h, mi=0, s=0, month=3):
    return datetime(2025, month, day, h, mi, s, tzinfo=tz)


def eod(tz, day, month=3):
    return t(tz, day, 23, 59, 59, month)


def test_000_social_normal():
    d = compute_deadlines(P["sobolevo"], "social", t(KAM, 5, 10))
    assert local(d, "route_by", KAM) == t(KAM, 5, 10, 30)  # 000 §10: 30 min
    assert local(d, "return_by", KAM) == t(KAM, 5, 10, 30)  # 000 §11: 30 min from receiving it
    assert local(d, "answer_by", KAM) == t(KAM, 6, 10)  # 000 §12: 8 wh = 3 + 4 + 1
    assert local(d, "draft_by", KAM) == t(KAM, 5, 15)  # 000 §13: 4 wh before
    assert local(d, "approve_by", KAM) == t(KAM, 5, 11)  # 000 §14: 1 h after the draft (at once)
    assert local(d, "revise_by", KAM) == t(KAM, 5, 11)  # 000 §15
    assert local(d, "publish_by", KAM) == t(KAM, 5, 11)  # 000 §16: 1 h after approval
    assert local(d, "final_by_after_intermediate", KAM) == t(KAM, 14, 18)  # 000 §17: 7 wd (8 March off)
    assert local(d, "coexecutor_input_by", KAM) == t(KAM, 5, 12)  # 000 §19.3: 2 h
    assert d.clauses["answer_by"] == "000 §12" and d.clauses["draft_by"] == "000 §13"


def test_000_the_four_hours_before_the_answer_are_approval_revision_approval_posting():
    d = compute_deadlines(P["sobolevo"], "social", t(KAM, 5, 10))
    chain = full_term_chain(P["sobolevo"], "social", d)
    assert [chain[k].astimezone(KAM) for k in ("approve_by", "revise_by", "approve_again_by")] == [
        t(KAM, 5, 16),
        t(KAM, 5, 17),
        t(KAM, 5, 18),
    ]
    assert chain["publish_by"] == d.answer_by  # 1 + 1 + 1 + 1 h fill the 4 h exactly


def test_000_high_importance():
    d = compute_deadlines(P["sobolevo"], "social", t(KAM, 5, 10), importance="high")
    assert local(d, "answer_by", KAM) == t(KAM, 5, 15)  # 000 §10 ¶2: 4 wh, lunch skipped
    assert local(d, "draft_by", KAM) == t(KAM, 5, 12)  # 2 wh before (half the term, like §13)


def test_001_social_on_a_pre_holiday_friday():
    d = compute_deadlines(P["zarechny"], "social", t(MSK, 7, 15))
    assert local(d, "route_by", MSK) == t(MSK, 7, 16)  # 001 §8: 60 min wh
    assert local(d, "answer_by", MSK) == t(MSK, 10, 16)  # 001 §10: 2 h Friday (ends 17:00) + 6 h Monday
    assert local(d, "draft_by", MSK) == t(MSK, 10, 12)  # 001 §11: 3 wh before, across lunch
    assert local(d, "publish_by", MSK) == t(MSK, 7, 15, 30)  # 001 §14: 30 min wh after approval
    assert local(d, "final_by_after_intermediate", MSK) == t(MSK, 18, 18)  # 001 §15


def test_001_has_no_high_importance_term_but_the_curator_may_shorten():
    normal = compute_deadlines(P["zarechny"], "social", t(MSK, 5, 10))
    high = compute_deadlines(P["zarechny"], "social", t(MSK, 5, 10), importance="high")
    assert high.answer_by == normal.answer_by
    short = compute_deadlines(P["zarechny"], "social", t(MSK, 5, 10), shortened_to=t(MSK, 5, 14))
    assert local(short, "answer_by", MSK) == t(MSK, 5, 14)
    assert short.clauses["answer_by"] == "shortened (001 §8)"
    # 3 of the 8 working hours are left: the draft is due 3/8 × 3 h = 1 h 7.5 min before.
    assert local(short, "draft_by", MSK) == t(MSK, 5, 11, 52, 30)


def test_002_normal_and_high():
    d = compute_deadlines(P["moskalensky"], "social", t(OMSK, 5, 10))
    assert local(d, "route_by", OMSK) == t(OMSK, 5, 10, 30)  # 002 §6.4
    assert local(d, "answer_by", OMSK) == t(OMSK, 6, 11)  # 002 §8: 9 wh
    assert local(d, "draft_by", OMSK) == t(OMSK, 5, 16)  # 002 §9: 4 wh before
    assert local(d, "approve_by", OMSK) == t(OMSK, 5, 10, 30)  # 002 §10: 30 min
    assert local(d, "revise_by", OMSK) == t(OMSK, 5, 11)  # 002 §11: 1 h
    assert local(d, "coexecutor_input_by", OMSK) == t(OMSK, 5, 12)  # 002 §14.4: 2 h
    assert local(d, "joint_draft_by", OMSK) == t(OMSK, 5, 15)  # 002 §14.5: 2 h after, lunch skipped
    h = compute_deadlines(P["moskalensky"], "social", t(OMSK, 5, 10), importance="high")
    assert local(h, "answer_by", OMSK) == t(OMSK, 5, 15)  # 002 §8 ¶2: 4 wh
    assert local(h, "draft_by", OMSK) == t(OMSK, 5, 12)  # 002 §9 ¶2: 2 wh before
    assert local(h, "revise_by", OMSK) == t(OMSK, 5, 10, 30)  # 002 §11: 30 min for high importance
    assert local(h, "coexecutor_input_by", OMSK) == t(OMSK, 5, 10, 45)  # 002 §14.4: 45 min
    assert local(h, "joint_draft_by", OMSK) == t(OMSK, 5, 11, 30)  # 002 §14.5: 45 min
    assert h.final_by_after_intermediate is None and h.notes  # 002 §13: agreed with the curator


def test_003_social_after_hours_before_the_holiday():
    d = compute_deadlines(P["severny"], "social", t(NSK, 7, 17, 30))  # the shortened Friday is over
    assert local(d, "route_by", NSK) == t(NSK, 10, 10)  # 003 §6: 1 wh
    assert local(d, "return_by", NSK) == t(NSK, 10, 9, 30)  # 003 §6: 30 min wh, from the check
    assert local(d, "answer_by", NSK) == t(NSK, 11, 10)  # 003 §10: 9 wh
    assert local(d, "draft_by", NSK) == t(NSK, 10, 17)  # 003 §7: 2 wh before
    assert local(d, "publish_by", NSK) == t(NSK, 11, 10)  # 003 §10: posted within the same 9 wh


@pytest.mark.parametrize(
    "category,fast,due_day,clause",
    [
        ("other", False, 25, "003 прил. 1 §10.3"),
        (None, False, 25, "003 прил. 1 §10.3"),
        ("federal_fast_track", False, 13, "003 прил. 1 §10.1"),
        (None, True, 13, "003 прил. 1 §10.1"),
        ("regional_fast_track", True, 19, "003 прил. 1 §10.2"),
    ],
)
def test_003_pos_categories(category, fast, due_day, clause):
    d = compute_deadlines(P["severny"], "pos", t(NSK, 5, 10), fast_track=fast, category=category)
    assert local(d, "answer_by", NSK) == eod(NSK, due_day) and d.clauses["answer_by"] == clause
    assert local(d, "draft_by", NSK) == eod(NSK, due_day - 2)  # прил. 1 §9.2: 2 days before


def test_003_pos_other_steps():
    d = compute_deadlines(P["severny"], "pos", t(NSK, 5, 10))
    assert local(d, "route_by", NSK) == t(NSK, 5, 11)  # прил. 1 §8
    assert local(d, "return_by", NSK) == t(NSK, 5, 10, 30)  # прил. 1 §9.1
    assert local(d, "approve_by", NSK) == t(NSK, 6, 10)  # прил. 1 §11: 1 working day from the moment
    assert local(d, "revise_by", NSK) == t(NSK, 6, 10)  # прил. 1 §12
    assert local(d, "coexecutor_input_by", NSK) == eod(NSK, 15)  # прил. 1 §14.2: half of 20 days
    assert local(d, "final_by_after_intermediate", NSK) == t(NSK, 14, 18)  # прил. 1 §13: 7 wd


def test_003_pos_platform_deadline_binds_when_earlier():
    earlier = compute_deadlines(P["severny"], "pos", t(NSK, 5, 10), platform_deadline=t(NSK, 20, 12))
    assert (
        local(earlier, "answer_by", NSK) == t(NSK, 20, 12)
        and earlier.clauses["answer_by"] == "platform deadline"
    )
    assert local(earlier, "coexecutor_input_by", NSK) == t(NSK, 12, 23)  # half of 15 d 2 h
    later = compute_deadlines(P["severny"], "pos", t(NSK, 5, 10), platform_deadline=t(NSK, 30, 12))
    assert local(later, "answer_by", NSK) == eod(NSK, 25)


def test_000_kamchatka():
    sob = P["sobolevo"]
    d = compute_deadlines(sob, "kamchatka", t(KAM, 5, 10))
    assert local(d, "answer_by", KAM) == eod(KAM, 15)  # прил. 2 §2.5: 10 calendar days
    assert local(d, "repeat_decision_by", KAM) == t(KAM, 6, 18)  # прил. 2 §2.9: 1 working day
    assert d.route_by is None and d.approve_by is None  # assigned by the platform, no approval term
    fast = compute_deadlines(sob, "kamchatka", t(KAM, 5, 10), fast_track=True)
    assert local(fast, "answer_by", KAM) == eod(KAM, 8)  # прил. 2 §2.6: up to 3 calendar days
    extended = compute_deadlines(sob, "kamchatka", t(KAM, 5, 10), extension_days=5)
    assert local(extended, "answer_by", KAM) == eod(KAM, 20)  # прил. 2 §2.5: + up to 8 days


def test_004_incident_management():
    tash = P["tashtagol"]
    d = compute_deadlines(tash, "im", t(NKZ, 7, 16, 30))  # the shortened Friday ended at 16:00
    assert local(d, "first_response_by", NKZ) == t(NKZ, 10, 9)  # 004 §2.1: 1 working hour, from 08:00
    assert d.answer_by is None and "004 §2.1" in d.notes[0]  # the platform sets the term
    urgent = compute_deadlines(tash, "im", t(NKZ, 7, 16, 30), importance="high")
    assert local(urgent, "first_response_by", NKZ) == t(NKZ, 7, 17, 30)  # 004 §2.1: at any hour
    set_by_platform = compute_deadlines(tash, "im", t(NKZ, 5, 10), platform_deadline=t(NKZ, 6, 12))
    assert local(set_by_platform, "answer_by", NKZ) == t(NKZ, 6, 12)


def test_004_kuzbass_online_and_the_governor():
    tash = P["tashtagol"]
    k = compute_deadlines(tash, "kuzbass_online", t(NKZ, 7, 16))
    assert local(k, "take_by", NKZ) == t(NKZ, 11, 8)  # 004 §2.3: 24 h on working days; Friday's work is over
    assert local(k, "answer_by", NKZ) == eod(NKZ, 21)  # 004 §2.3: 14 days
    assert local(compute_deadlines(tash, "governor", t(NKZ, 8, 10)), "answer_by", NKZ) == t(
        NKZ, 8, 18
    )  # a holiday too
    assert local(compute_deadlines(tash, "governor", t(NKZ, 8, 19)), "answer_by", NKZ) == t(NKZ, 9, 18)


@pytest.mark.parametrize(
    "received,take_by",
    [
        (t(NKZ, 5, 10), t(NKZ, 6, 10)),  # Wednesday -> Thursday, the same clock time
        (t(NKZ, 6, 16, 30), t(NKZ, 7, 16)),  # Thursday -> Friday, shortened before the holiday
        (t(NKZ, 7, 10), t(NKZ, 10, 10)),  # Friday -> Monday: the weekend and 8 March do not count
        (t(NKZ, 7, 19), t(NKZ, 11, 8)),  # after Friday's work: from Monday 08:00
        (t(NKZ, 8, 12), t(NKZ, 11, 8)),  # on the holiday: from Monday 08:00
    ],
)
def test_004_2_3_kuzbass_online_take_into_work_counts_working_days_only(received, take_by):
    """004 §2.3: «Прием и обработка сообщений ведется только в рабочие дни (понедельник-пятница с
    8.00 до 17.00)» — the 24 hours to take a message into work stop over weekends and holidays."""
    d = compute_deadlines(P["tashtagol"], "kuzbass_online", received)
    assert local(d, "take_by", NKZ) == take_by
    assert d.clauses["take_by"] == "004 §2.3"


def test_naive_means_local_and_everything_is_utc_inside():
    naive = compute_deadlines(P["zarechny"], "social", datetime(2025, 3, 5, 10))
    aware = compute_deadlines(P["zarechny"], "social", datetime(2025, 3, 5, 7, tzinfo=UTC))
    assert naive == aware
    assert naive.answer_by.tzinfo == UTC and naive.identified_at == datetime(2025, 3, 5, 7, tzinfo=UTC)


def test_milestones_move_the_later_steps():
    m = Milestones(
        routed_at=t(OMSK, 5, 11),
        submitted_at=t(OMSK, 5, 16),
        sent_back_at=t(OMSK, 5, 16, 20),
        approved_at=t(OMSK, 5, 17, 45),
    )
    d = compute_deadlines(P["moskalensky"], "social", t(OMSK, 5, 10), milestones=m)
    assert local(d, "return_by", OMSK) == t(OMSK, 5, 11, 30)  # 30 min from routing
    assert local(d, "approve_by", OMSK) == t(OMSK, 5, 16, 30)  # 30 min from the draft
    assert local(d, "revise_by", OMSK) == t(OMSK, 5, 17, 20)
    assert local(d, "publish_by", OMSK) == t(OMSK, 6, 9, 15)  # 30 min wh after approval, overnight
    assert local(d, "answer_by", OMSK) == t(OMSK, 6, 11)  # the answer term does not move


def test_after_an_intermediate_answer_the_final_term_may_bind_the_post():
    m = Milestones(routed_at=t(NSK, 5, 10), intermediate_at=t(NSK, 6, 12), approved_at=t(NSK, 14, 17))
    d = compute_deadlines(P["severny"], "pos", t(NSK, 5, 10), milestones=m)
    assert local(d, "final_by_after_intermediate", NSK) == t(NSK, 17, 18)  # прил. 1 §13: 7 wd after the 6th
    assert local(d, "publish_by", NSK) == t(NSK, 17, 18)  # "окончательного ответа": it binds the post


# -- the CLI ------------------------------------------------------------------------------------------
def cli(capsys, *args):
    code = main(["deadlines", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_prints_every_step_with_the_local_offset(capsys):
    code, out, _ = cli(
        capsys, "--profile", "zarechny", "--channel", "social", "--identified", "2025-03-07T15:00"
    )
    assert code == 0
    data = json.loads(out)
    assert data["answer_by"] == "2025-03-10T16:00:00+03:00"
    assert data["route_by"] == "2025-03-07T16:00:00+03:00"
    assert data["draft_by"] == "2025-03-10T12:00:00+03:00"
    for key in ("return_by", "approve_by", "revise_by", "publish_by", "final_by_after_intermediate"):
        assert data[key].endswith("+03:00"), key
    assert data["clauses"]["answer_by"] == "001 §10" and data["approver"] == "curator"
    assert data["full_term_chain"]["approve_by"] == "2025-03-10T13:00:00+03:00"


def test_cli_converts_an_offset_to_local_time(capsys):
    _, out, _ = cli(
        capsys,
        "--profile",
        "sobolevo",
        "--channel",
        "social",
        "--identified",
        "2025-03-04T22:00:00+00:00",
        "--importance",
        "high",
    )
    data = json.loads(out)
    assert data["identified_at"] == "2025-03-05T10:00:00+12:00"
    assert data["answer_by"] == "2025-03-05T15:00:00+12:00"


def test_cli_pos_and_platform_options(capsys):
    _, out, _ = cli(
        capsys,
        "--profile",
        "severny",
        "--channel",
        "pos",
        "--identified",
        "2025-03-05T10:00",
        "--category",
        "regional_fast_track",
    )
    assert json.loads(out)["answer_by"] == "2025-03-19T23:59:59+07:00"
    _, out, _ = cli(
        capsys,
        "--profile",
        "tashtagol",
        "--channel",
        "pos",
        "--identified",
        "2025-03-05T10:00",
        "--platform-deadline",
        "2025-03-12T17:00",
    )
    assert json.loads(out)["answer_by"] == "2025-03-12T17:00:00+07:00"


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["--profile", "nowhere", "--channel", "social"],
            "known: moskalensky, severny, sobolevo, tashtagol, zarechny",
        ),
        (["--profile", "zarechny", "--channel", "pos"], "has no channel 'pos'; it has: social"),
        (["--profile", "tashtagol", "--channel", "social"], "it has: im, pos, kuzbass_online, governor"),
        (["--profile", "severny", "--channel", "pos", "--category", "vip"], "categories: federal_fast_track"),
    ],
)
def test_cli_unknown_profile_or_channel_lists_the_valid_ones(capsys, args, message):
    code, out, err = cli(capsys, *args, "--identified", "2025-03-07T15:00")
    assert code == 2 and message in err and not out


def test_cli_rejects_a_bad_time(capsys):
    code, _, err = cli(capsys, "--profile", "zarechny", "--channel", "social", "--identified", "7 March")
    assert code == 2 and "not ISO 8601" in err


def test_cli_as_a_program():
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "otklik",
            "deadlines",
            "--profile",
            "moskalensky",
            "--channel",
            "im",
            "--identified",
            "2025-03-05T10:00",
            "--importance",
            "high",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["answer_by"] == "2025-03-05T15:00:00+06:00" and data["notes"]
    assert datetime.fromisoformat(data["draft_by"]) - datetime.fromisoformat(
        data["identified_at"]
    ) == timedelta(hours=2)
