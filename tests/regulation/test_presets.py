"""Every number of every preset, against the seed documents, by clause.

The expected values are written here independently of the profile files: a profile edit that
changes a regulated term fails the test that names its clause, and a number added to a profile
without a line here fails `test_every_number_in_every_profile_is_tested`."""

from datetime import time

import pytest
from pydantic import BaseModel

from regulation.durations import Duration, Fraction
from regulation.profiles import list_profiles, load_profile

W, C = "working", "calendar"
EOD, SAME = "end_of_day", "same_time"
# (profile, channel, field, value, unit, basis, until, clause)
PRESETS = [
    # 000 Соболево, прил. 1 (social networks; Incident Management follows the same rules, §8.1)
    *[
        (p, ch, f, v, u, b, EOD, cl)
        for p, ch in (("sobolevo", "social"), ("sobolevo", "im"))
        for f, v, u, b, cl in [
            ("route", 30, "minutes", W, "000 §10"),
            ("return_", 30, "minutes", W, "000 §11"),
            ("answer", 8, "hours", W, "000 §12"),
            ("answer_high", 4, "hours", W, "000 §10 ¶2"),
            ("draft_before", 4, "hours", W, "000 §13"),
            ("draft_before_high", 2, "hours", W, "000 §13, §10 ¶2"),
            ("approval", 1, "hours", W, "000 §14"),
            ("revision", 1, "hours", W, "000 §15"),
            ("publish_after_approval", 1, "hours", W, "000 §16"),
            ("final_after_intermediate", 7, "days", W, "000 §17"),
            ("coexecutors.input", 2, "hours", W, "000 §19.3"),
        ]
    ],
    # 000 Соболево, прил. 2 «Камчатка в порядке»
    ("sobolevo", "kamchatka", "answer", 10, "days", C, EOD, "000 прил. 2 §2.5"),
    ("sobolevo", "kamchatka", "answer_fast_track", 3, "days", C, EOD, "000 прил. 2 §2.1.3, §2.6"),
    ("sobolevo", "kamchatka", "answer_fast_track_min", 1, "days", C, EOD, "000 прил. 2 §2.6"),
    ("sobolevo", "kamchatka", "extension_max", 8, "days", C, EOD, "000 прил. 2 §2.5"),
    ("sobolevo", "kamchatka", "repeat_decision", 1, "days", W, EOD, "000 прил. 2 §2.9"),
    ("sobolevo", "staff", "dismissal_notice", 3, "days", C, EOD, "000 §9"),
    # 001 Заречный: everything in working time
    ("zarechny", "social", "route", 60, "minutes", W, EOD, "001 §8"),
    ("zarechny", "social", "return_", 30, "minutes", W, EOD, "001 §9"),
    ("zarechny", "social", "answer", 8, "hours", W, EOD, "001 §10"),
    ("zarechny", "social", "draft_before", 3, "hours", W, EOD, "001 §11"),
    ("zarechny", "social", "approval", 60, "minutes", W, EOD, "001 §12"),
    ("zarechny", "social", "revision", 1, "hours", W, EOD, "001 §13"),
    ("zarechny", "social", "publish_after_approval", 30, "minutes", W, EOD, "001 §14"),
    ("zarechny", "social", "final_after_intermediate", 7, "days", W, EOD, "001 §15"),
    ("zarechny", "social", "coexecutors.input", 2, "hours", W, EOD, "001 §16"),
    # 002 Москаленский (pages and the system): §2(2), §4 — working time
    *[
        (p, ch, f, v, u, W, EOD, cl)
        for p, ch in (("moskalensky", "social"), ("moskalensky", "im"))
        for f, v, u, cl in [
            ("route", 30, "minutes", "002 §6.4"),
            ("return_", 30, "minutes", "002 §7"),
            ("answer", 9, "hours", "002 §8"),
            ("answer_high", 4, "hours", "002 §8 ¶2"),
            ("draft_before", 4, "hours", "002 §9"),
            ("draft_before_high", 2, "hours", "002 §9 ¶2"),
            ("approval", 30, "minutes", "002 §10"),
            ("revision", 1, "hours", "002 §11"),
            ("revision_high", 30, "minutes", "002 §11"),
            ("publish_after_approval", 30, "minutes", "002 §12"),
            ("final_after_intermediate", 7, "days", "002 §13"),
            ("coexecutors.input", 2, "hours", "002 §14.4"),
            ("coexecutors.input_high", 45, "minutes", "002 §14.4"),
            ("coexecutors.joint_draft", 2, "hours", "002 §14.5"),
            ("coexecutors.joint_draft_high", 45, "minutes", "002 §14.5"),
        ]
    ],
    # 003 Северный, open sources (and messages from the ЦУР curator, "im")
    *[
        (p, ch, f, v, u, W, EOD, cl)
        for p, ch in (("severny", "social"), ("severny", "im"))
        for f, v, u, cl in [
            ("route", 1, "hours", "003 §6"),
            ("return_", 30, "minutes", "003 §6"),
            ("answer", 9, "hours", "003 §10"),
            ("draft_before", 2, "hours", "003 §7"),
            ("approval", 30, "minutes", "003 §8"),
            ("revision", 1, "hours", "003 §9"),
            ("final_after_intermediate", 7, "days", "003 §11"),
            ("coexecutors.input", 2, "hours", "003 §12.3"),
        ]
    ],
    # 003 Северный, ПОС (прил. 1)
    ("severny", "pos", "route", 1, "hours", W, EOD, "003 прил. 1 §8"),
    ("severny", "pos", "return_", 30, "minutes", W, EOD, "003 прил. 1 §9.1"),
    ("severny", "pos", "draft_before", 2, "days", C, EOD, "003 прил. 1 §9.2"),
    ("severny", "pos", "answer_by_category.federal_fast_track", 8, "days", C, EOD, "003 прил. 1 §10.1"),
    ("severny", "pos", "answer_by_category.regional_fast_track", 14, "days", C, EOD, "003 прил. 1 §10.2"),
    ("severny", "pos", "answer_by_category.other", 20, "days", C, EOD, "003 прил. 1 §10.3"),
    ("severny", "pos", "approval", 1, "days", W, SAME, "003 прил. 1 §11"),
    ("severny", "pos", "revision", 1, "days", W, SAME, "003 прил. 1 §12"),
    ("severny", "pos", "final_after_intermediate", 7, "days", W, EOD, "003 прил. 1 §13"),
    # 004 Таштагол
    ("tashtagol", "im", "first_response", 1, "hours", W, EOD, "004 §2.1"),
    ("tashtagol", "im", "feedback.silence", 2, "days", C, SAME, "004 §2.1"),
    ("tashtagol", "kuzbass_online", "take_into_work", 1, "days", W, SAME, "004 §2.3"),
    ("tashtagol", "kuzbass_online", "answer", 14, "days", C, EOD, "004 §2.3"),
]
FRACTIONS = [("severny", "pos", "coexecutors.input", 0.5, "003 прил. 1 §14.2")]


def _get(profile_name: str, channel: str, path: str):
    profile = load_profile(profile_name)
    obj = profile.staff if channel == "staff" else profile.channel(channel)
    for part in path.split("."):
        obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
    return obj


@pytest.mark.parametrize(
    "profile,channel,field,value,unit,basis,until,clause",
    PRESETS,
    ids=[f"{p[7]}: {p[0]} {p[1]} {p[2]} = {p[3]} {p[4]}" for p in PRESETS],
)
def test_preset_number(profile, channel, field, value, unit, basis, until, clause):
    d = _get(profile, channel, field)
    assert isinstance(d, Duration)
    assert (d.value, d.unit, d.basis, d.clause) == (value, unit, basis, clause)
    if unit == "days":
        assert d.until == until


@pytest.mark.parametrize(
    "profile,channel,field,share,clause", FRACTIONS, ids=[f"{f[4]}: {f[0]} {f[1]} {f[2]}" for f in FRACTIONS]
)
def test_preset_fraction(profile, channel, field, share, clause):
    """003 прил. 1 §14.2: co-executors give their input within half of the §10 term."""
    f = _get(profile, channel, field)
    assert isinstance(f, Fraction) and (f.share, f.clause) == (share, clause)


def _numbers(obj, path=""):
    """Every Duration and Fraction inside a model, with its dotted path."""
    if isinstance(obj, Duration | Fraction):
        yield path, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _numbers(v, f"{path}.{k}" if path else str(k))
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from _numbers(getattr(obj, name), f"{path}.{name}" if path else name)


def test_every_number_in_every_profile_is_tested():
    tested = {(p[0], p[1], p[2]) for p in PRESETS} | {(f[0], f[1], f[2]) for f in FRACTIONS}
    found = set()
    for name in list_profiles():
        profile = load_profile(name)
        for channel, rules in profile.channels.items():
            found |= {(name, channel, path) for path, _ in _numbers(rules)}
        found |= {(name, "staff", path) for path, _ in _numbers(profile.staff)}
        assert not list(_numbers(profile.escalation)), "a fixed near-due lead needs a preset line"
    assert found - tested == set(), "numbers in profiles without a test naming their clause"
    assert tested - found == set(), "tests of numbers the profiles no longer have"


@pytest.mark.parametrize(
    "profile,channel,role,clause",
    [
        ("sobolevo", "social", "head", "000 §13–14"),
        ("sobolevo", "im", "head", "000 §13–14"),
        ("sobolevo", "kamchatka", "approver", "000 прил. 2 §2.4"),
        ("zarechny", "social", "curator", "001 §11–12"),
        ("moskalensky", "social", "curator", "002 §9–10"),
        ("severny", "social", "curator", "003 §7–8; прил. 1 §11–12"),
        ("severny", "pos", "curator", "003 §7–8; прил. 1 §11–12"),
        ("tashtagol", "im", "curator", "004 §2.1"),
        ("tashtagol", "pos", "curator", "004 §2.2"),
        ("tashtagol", "kuzbass_online", "executor", "004 §2.3"),
        ("tashtagol", "governor", "approver", "004 §2.4"),
    ],
    ids=lambda v: str(v),
)
def test_approver_by_clause(profile, channel, role, clause):
    p = load_profile(profile)
    rules = p.channel(channel)
    assert p.approver_for(channel) == role
    assert (rules.approver_clause or p.approver_clause) == clause


@pytest.mark.parametrize(
    "profile,channels",
    [
        ("sobolevo", {"social", "im", "kamchatka"}),
        ("zarechny", {"social"}),
        ("moskalensky", {"social", "im"}),
        ("severny", {"social", "im", "pos"}),
        ("tashtagol", {"im", "pos", "kuzbass_online", "governor"}),
    ],
)
def test_each_profile_has_the_channels_its_document_covers(profile, channels):
    assert set(load_profile(profile).channels) == channels


@pytest.mark.parametrize(
    "profile,tz",
    [
        ("sobolevo", "Asia/Kamchatka"),
        ("zarechny", "Europe/Moscow"),
        ("moskalensky", "Asia/Omsk"),
        ("severny", "Asia/Novosibirsk"),
        ("tashtagol", "Asia/Novokuznetsk"),
    ],
)
def test_time_zones(profile, tz):
    assert load_profile(profile).timezone == tz


@pytest.mark.parametrize("profile", ["sobolevo", "zarechny", "moskalensky", "severny"])
def test_default_hours_with_a_lunch_break_where_the_document_states_none(profile):
    s = load_profile(profile).schedule
    assert s.weekdays == [0, 1, 2, 3, 4]
    assert s.intervals == [(time(9), time(13)), (time(14), time(18))]


def test_tashtagol_hours_and_the_governors_daily_channel():
    """004 §2.1–2.3: Mon–Fri 08:00–17:00; §2.4: the Governor's networks every day, by 18:00."""
    p = load_profile("tashtagol")
    assert (p.schedule.weekdays, p.schedule.intervals) == ([0, 1, 2, 3, 4], [(time(8), time(17))])
    gov = p.channel("governor")
    assert gov.schedule.weekdays == list(range(7)) and not gov.schedule.production_calendar
    assert (gov.same_day_cutoff.at, gov.same_day_cutoff.clause) == (time(18), "004 §2.4")
    assert gov.must_contact_author.clause == "004 §2.4"


@pytest.mark.parametrize(
    "profile,channel,roles,clause",
    [
        ("sobolevo", "social", ["curator", "head"], "000 §10, §18"),
        ("sobolevo", "kamchatka", ["curator"], "000 прил. 2 §2.6"),
        ("zarechny", "social", ["curator"], "001 §8"),
        ("moskalensky", "social", ["curator"], "002 §6.3"),
    ],
)
def test_who_may_shorten_the_term(profile, channel, roles, clause):
    m = load_profile(profile).channel(channel).may_shorten
    assert (m.roles, m.clause) == (roles, clause)


@pytest.mark.parametrize(
    "profile,channel,final_is,clause",
    [
        ("sobolevo", "social", "answer", "000 §17"),
        ("zarechny", "social", "draft", "001 §15"),
        ("moskalensky", "social", "draft", "002 §13"),
        ("severny", "social", "draft", "003 §11"),
        ("severny", "pos", "answer", "003 прил. 1 §13"),
    ],
)
def test_what_the_final_term_binds(profile, channel, final_is, clause):
    """ "окончательного проекта ответа" (a draft) vs "окончательного ответа" (the answer)."""
    rules = load_profile(profile).channel(channel)
    assert (rules.final_is, rules.final_after_intermediate.clause) == (final_is, clause)


def test_002_high_importance_final_term_is_agreed_with_the_curator():
    """002 §13: for high importance the final term "подлежит согласованию с Куратором"."""
    rules = load_profile("moskalensky").channel("social")
    assert rules.final_after_intermediate_high is None and rules.final_high_agreed.clause == "002 §13"


@pytest.mark.parametrize(
    "profile,channel,order,responsible,ordered_by,clause",
    [
        ("sobolevo", "social", "parallel", "first", "head", "000 §19"),
        ("zarechny", "social", "sequential", "last", "curator", "001 §16"),
        ("moskalensky", "social", "sequential", "first", "curator", "002 §14"),
        ("severny", "social", "sequential", "curator", "curator", "003 §12"),
        ("severny", "pos", "parallel", "first", "curator", "003 прил. 1 §14"),
    ],
)
def test_coexecutor_arrangements(profile, channel, order, responsible, ordered_by, clause):
    co = load_profile(profile).channel(channel).coexecutors
    assert (co.order, co.responsible, co.ordered_by, co.clause) == (order, responsible, ordered_by, clause)


@pytest.mark.parametrize(
    "profile,channel,clause",
    [
        ("zarechny", "social", "001 §21"),
        ("moskalensky", "social", "002 §20"),
        ("moskalensky", "im", "002 §20"),
        ("severny", "pos", "003 прил. 1 §18"),
    ],
)
def test_missed_deadlines_reported_to_the_head(profile, channel, clause):
    assert load_profile(profile).channel(channel).overdue_report_to_head.clause == clause


def test_returner_in_003_is_the_authorised_person():
    """003 §6: the authorised person returns what is not the district's to the ЦУР curator."""
    assert load_profile("severny").channel("social").returner == "curator"
    assert load_profile("severny").channel("pos").returner == "executor"  # прил. 1 §9.1


def test_platform_rules_of_004_and_kamchatka():
    p = load_profile("tashtagol")
    assert p.channel("im").answer_set_by_platform.clause == "004 §2.1"
    assert p.channel("im").urgent_any_time.clause == "004 §2.1"
    assert p.channel("pos").answer_set_by_platform.clause == "004 §2.2"
    assert p.channel("governor").also_sends_back.roles == ["curator"]  # §2.4
    assert "comment" in p.channel("im").feedback.reopen_on  # §2.1: a comment returns it to work
    assert "negative_comment" in p.channel("pos").feedback.reopen_on  # §2.2
    kuz = p.channel("kuzbass_online").outcomes
    assert (kuz.values, kuz.required, kuz.clause) == (["решено", "разъяснено"], True, "004 §2.3")
    kam = load_profile("sobolevo").channel("kamchatka")
    assert kam.photos_required.clause == "000 прил. 2 §2.5"
    assert kam.extension_decided_by.roles == ["curator"]
    assert "rework" in kam.feedback.reopen_on and kam.feedback.silence is None  # §2.7–2.8


@pytest.mark.parametrize(
    "profile,every,due_day,clause",
    [
        ("sobolevo", "quarter", 5, "000 §24; прил. 2 §2.13"),
        ("zarechny", "month", None, "001 §22"),
        ("tashtagol", "week", None, "004 Положение §10.14"),
    ],
)
def test_reports(profile, every, due_day, clause):
    (report,) = load_profile(profile).reports
    assert (report.every, report.due_day, report.to, report.clause) == (every, due_day, "head", clause)


@pytest.mark.parametrize(
    "profile,clause",
    [
        ("sobolevo", "000 §25; прил. 2 §2.14"),
        ("zarechny", "001 §23"),
        ("moskalensky", "002 §19 (второй)"),
        ("severny", "003 §17"),
    ],
)
def test_immediate_reports_to_the_head(profile, clause):
    assert load_profile(profile).immediate_report.clause == clause


def test_substitutes_for_absent_executors():
    assert load_profile("sobolevo").staff.substitutes.clause == "000 §9"
    assert load_profile("zarechny").staff.substitutes.clause == "001 §7"
