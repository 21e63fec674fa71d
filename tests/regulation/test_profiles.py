"""Profiles are data: a municipality edits YAML and gets file:line errors, not tracebacks."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from otklik.exceptions import ConfigError
from regulation.deadlines import compute_deadlines
from regulation.profiles import list_profiles, load_profile

MINIMAL = """\
name: village
document: "a test regulation"
municipality: Деревня
timezone: Europe/Moscow
channels:
  social:
    route: {value: 15, unit: minutes, clause: "v §1"}
    answer: {value: 2, unit: hours, clause: "v §2"}
"""


def write(tmp_path, text):
    path = tmp_path / "village.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_the_five_presets_are_listed():
    assert list_profiles() == ["moskalensky", "severny", "sobolevo", "tashtagol", "zarechny"]


def test_a_profile_from_a_path_with_its_own_schedule_and_overrides(tmp_path):
    text = MINIMAL.replace(
        "channels:",
        """schedule:
  week:
    mon: [["10:00", "12:00"]]
    sat: [["10:00", "24:00"]]
  overrides:
    2025-03-05: []
channels:""",
    )
    p = load_profile(write(tmp_path, text))
    msk = ZoneInfo("Europe/Moscow")
    assert not p.calendar.is_working_day(date(2025, 3, 4))  # Tuesday: not in the week
    assert p.calendar.day_intervals(date(2025, 3, 15))[-1][1] == datetime(2025, 3, 16, tzinfo=msk)  # to 24:00
    assert p.calendar.is_working_day(date(2025, 3, 1))  # an ordinary Saturday of this schedule
    d = compute_deadlines(p, "social", datetime(2025, 2, 24, 11, 30, tzinfo=msk))  # Monday
    assert d.answer_by.astimezone(msk) == datetime(2025, 3, 1, 11, 30, tzinfo=msk)  # 30 min Mon + 90 min Sat
    d = compute_deadlines(p, "social", datetime(2025, 3, 3, 11, 30, tzinfo=msk))
    assert d.answer_by.astimezone(msk) == datetime(
        2025, 3, 10, 11, 30, tzinfo=msk
    )  # Saturday 8 March: a holiday


@pytest.mark.parametrize(
    "change,where",
    [
        (("timezone: Europe/Moscow", "timezone: Mars/Olympus"), "bad timezone"),
        (("  social:", "  telegraph:"), "unknown channel(s) ['telegraph']"),
        (
            ("value: 15, unit: minutes", "value: -15, unit: minutes"),
            "village.yaml:7: channels.social.route.value",
        ),
        (
            ("value: 2, unit: hours", "value: 2, unit: fortnights"),
            "village.yaml:8: channels.social.answer.unit",
        ),
        (("value: 2, unit: hours", "value: 1.5, unit: days"), "whole number of days"),
        (('clause: "v §1"', 'claus: "v §1"'), "channels.social.route"),
        (("channels:", 'schedule: {intervals: [["18:00", "09:00"]]}\nchannels:'), "ends before it starts"),
        (
            ("channels:", 'schedule: {intervals: [["09:00", "13:00"], ["12:00", "18:00"]]}\nchannels:'),
            "overlap",
        ),
        (
            (
                'answer: {value: 2, unit: hours, clause: "v §2"}',
                'answer: {value: 2, unit: hours, clause: "v §2"}\n    extension_max: {value: 8, unit: days, clause: "v §3"}',
            ),
            "extension_decided_by",
        ),
        (("approver_role", "approver_role"), None),
    ],
    ids=[
        "time zone",
        "unknown channel",
        "negative term",
        "unknown unit",
        "fractional days",
        "misspelt field",
        "inverted interval",
        "overlapping intervals",
        "extension without a grantor",
        "valid",
    ],
)
def test_invalid_profiles_say_where_and_what(tmp_path, change, where):
    text = MINIMAL.replace(*change)
    if where is None:  # the unchanged file is valid
        assert load_profile(write(tmp_path, text)).name == "village"
        return
    with pytest.raises(ConfigError) as err:
        load_profile(write(tmp_path, text))
    assert where in str(err.value)


def test_an_unknown_profile_name_lists_the_known_ones():
    with pytest.raises(ConfigError, match="known: moskalensky, severny, sobolevo, tashtagol, zarechny"):
        load_profile("atlantis")


def test_channel_calendars():
    tash = load_profile("tashtagol")
    assert tash.calendar_for("im") is tash.calendar
    assert tash.calendar_for("im", "high").is_working(
        datetime(2025, 1, 1, 3, tzinfo=ZoneInfo("Asia/Novokuznetsk"))
    )
    assert tash.calendar_for("governor").day_intervals(date(2025, 1, 1))[0][0].time() == time(8)
    with pytest.raises(ConfigError, match="has no channel 'social'"):
        tash.calendar_for("social")
