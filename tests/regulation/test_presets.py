"""Every number of every preset, against REGULATIONS.md and the seed documents, by clause.

The expected values are written here independently of the profile files: a profile edit that
changes a regulated term fails the test that names its clause."""

import pytest

from regulation.profiles import load_profile

W, C = "working", "calendar"
# (profile, channel, field, value, unit, basis, clause)
PRESETS = [
    ("sobolevo", "social", "route", 30, "minutes", W, "000 §10"),
    ("sobolevo", "social", "return_", 30, "minutes", W, "000 §11"),
    ("sobolevo", "social", "answer", 8, "hours", W, "000 §12"),
    ("sobolevo", "social", "answer_high", 4, "hours", W, "000 §10 ¶2"),
    ("sobolevo", "social", "draft_before", 4, "hours", W, "000 §13"),
    ("sobolevo", "social", "approval", 1, "hours", W, "000 §14"),
    ("sobolevo", "social", "revision", 1, "hours", W, "000 §15"),
    ("sobolevo", "social", "publish_after_approval", 1, "hours", W, "000 §16"),
    ("sobolevo", "social", "final_after_intermediate", 7, "days", W, "000 §17"),
    ("sobolevo", "social", "coexecutor_input", 2, "hours", W, "000 §19.3"),
    ("sobolevo", "kamchatka", "answer", 10, "days", C, "000 прил. 2 §2.5"),
    ("sobolevo", "kamchatka", "answer_fast_track", 3, "days", C, "000 прил. 2 §2.6"),
    ("sobolevo", "kamchatka", "extension_max", 8, "days", C, "000 прил. 2 §2.5"),
    ("sobolevo", "kamchatka", "repeat_decision", 1, "days", W, "000 прил. 2 §2.9"),
    ("zarechny", "social", "route", 60, "minutes", W, "001 §8"),
    ("zarechny", "social", "return_", 30, "minutes", W, "001 §9"),
    ("zarechny", "social", "answer", 8, "hours", W, "001 §10"),
    ("zarechny", "social", "draft_before", 3, "hours", W, "001 §11"),
    ("zarechny", "social", "approval", 60, "minutes", W, "001 §12"),
    ("zarechny", "social", "revision", 1, "hours", W, "001 §13"),
    ("zarechny", "social", "publish_after_approval", 30, "minutes", W, "001 §14"),
    ("zarechny", "social", "final_after_intermediate", 7, "days", W, "001 §15"),
    ("zarechny", "social", "coexecutor_input", 2, "hours", W, "001 §16"),
    ("moskalensky", "social", "route", 30, "minutes", W, "002 §6.4"),
    ("moskalensky", "social", "return_", 30, "minutes", W, "002 §7"),
    ("moskalensky", "social", "answer", 9, "hours", W, "002 §8"),
    ("moskalensky", "social", "answer_high", 4, "hours", W, "002 §8"),
    ("moskalensky", "social", "draft_before", 4, "hours", W, "002 §9"),
    ("moskalensky", "social", "draft_before_high", 2, "hours", W, "002 §9"),
    ("moskalensky", "social", "approval", 30, "minutes", W, "002 §10"),
    ("moskalensky", "social", "revision", 1, "hours", W, "002 §11"),
    ("moskalensky", "social", "revision_high", 30, "minutes", W, "002 §11"),
    ("moskalensky", "social", "publish_after_approval", 30, "minutes", W, "002 §12"),
    ("moskalensky", "social", "final_after_intermediate", 7, "days", W, "002 §13"),
    ("moskalensky", "social", "coexecutor_input", 2, "hours", W, "002 §14"),
    ("moskalensky", "social", "coexecutor_input_high", 45, "minutes", W, "002 §14"),
    ("moskalensky", "social", "joint_draft", 2, "hours", W, "002 §14"),
    ("moskalensky", "social", "joint_draft_high", 45, "minutes", W, "002 §14"),
    ("moskalensky", "im", "answer", 9, "hours", W, "002 §8"),
    ("severny", "social", "route", 1, "hours", W, "003 §6"),
    ("severny", "social", "return_", 30, "minutes", W, "003 §6"),
    ("severny", "social", "answer", 9, "hours", W, "003 §10"),
    ("severny", "social", "draft_before", 2, "hours", W, "003 §7"),
    ("severny", "social", "approval", 30, "minutes", W, "003 §8"),
    ("severny", "social", "revision", 1, "hours", W, "003 §9"),
    ("severny", "social", "final_after_intermediate", 7, "days", W, "003 §11"),
    ("severny", "social", "coexecutor_input", 2, "hours", W, "003 §12.3"),
    ("severny", "pos", "route", 1, "hours", W, "003 прил. 1 §8"),
    ("severny", "pos", "return_", 30, "minutes", W, "003 прил. 1 §9.1"),
    ("severny", "pos", "draft_before", 2, "days", C, "003 прил. 1 §9.2"),
    ("severny", "pos", "approval", 1, "days", W, "003 прил. 1 §11"),
    ("severny", "pos", "revision", 1, "days", W, "003 прил. 1 §12"),
    ("severny", "pos", "final_after_intermediate", 7, "days", W, "003 прил. 1 §13"),
    ("tashtagol", "im", "first_response", 1, "hours", W, "004 §2.1"),
    ("tashtagol", "im", "feedback_silence", 2, "days", C, "004 §2.1"),
    ("tashtagol", "kuzbass_online", "take_into_work", 24, "hours", C, "004 §2.3"),
    ("tashtagol", "kuzbass_online", "answer", 14, "days", C, "004 §2.3"),
]


@pytest.mark.parametrize("profile,channel,field,value,unit,basis,clause", PRESETS,
                         ids=[f"{p[6]}: {p[0]} {p[1]} {p[2]}" for p in PRESETS])
def test_preset_number(profile, channel, field, value, unit, basis, clause):
    rules = load_profile(profile).channel(channel)
    d = getattr(rules, field)
    assert (d.value, d.unit, d.basis, d.clause) == (value, unit, basis, clause)


@pytest.mark.parametrize("category,days,clause", [("federal_fast_track", 8, "003 прил. 1 §10.1"),
                                                  ("regional_fast_track", 14, "003 прил. 1 §10.2"),
                                                  ("other", 20, "003 прил. 1 §10.3")])
def test_pos_answer_terms(category, days, clause):
    d = load_profile("severny").channel("pos").answer_by_category[category]
    assert (d.value, d.unit, d.basis, d.clause) == (days, "days", "calendar", clause)


def test_pos_coexecutors_get_half_the_term():
    """003 прил. 1 §14.2: co-executors give input within half of the main deadline."""
    f = load_profile("severny").channel("pos").coexecutor_input
    assert (f.share, f.clause) == (0.5, "003 прил. 1 §14.2")


@pytest.mark.parametrize("profile,role", [("sobolevo", "head"), ("zarechny", "curator"),
                                          ("moskalensky", "curator"), ("severny", "curator")])
def test_approver_role(profile, role):
    """000 §13–14: the head of the district; 001 §11–12, 002 §9–10, 003 §7–8: the curator."""
    assert load_profile(profile).approver_for("social") == role


@pytest.mark.parametrize("profile,tz", [("sobolevo", "Asia/Kamchatka"), ("zarechny", "Europe/Moscow"),
                                        ("moskalensky", "Asia/Omsk"), ("severny", "Asia/Novosibirsk"),
                                        ("tashtagol", "Asia/Novokuznetsk")])
def test_time_zones(profile, tz):
    assert load_profile(profile).timezone == tz


def test_tashtagol_schedule_and_governor_cutoff():
    """004 §2.1: Mon–Fri 08:00–17:00; §2.4: the Governor's networks, the same day before 18:00."""
    p = load_profile("tashtagol")
    assert [(a.isoformat(), b.isoformat()) for a, b in p.schedule.intervals] == [("08:00:00", "17:00:00")]
    assert p.channel("governor").same_day_cutoff.isoformat() == "18:00:00"
    assert p.channel("kuzbass_online").outcomes == ["решено", "разъяснено"]


def test_default_schedule_has_lunch_break():
    p = load_profile("severny")
    assert [(a.hour, b.hour) for a, b in p.schedule.intervals] == [(9, 13), (14, 18)]
