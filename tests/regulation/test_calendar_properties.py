"""Properties of working-time arithmetic over 2024–2026 on every profile's calendar (a lunch
break, no break, a channel worked every day, hours of any day on demand)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from regulation.calendar import always_on
from regulation.profiles import load_profile

CALENDARS = {
    "severny": load_profile("severny").calendar,  # 09–13, 14–18
    "tashtagol": load_profile("tashtagol").calendar,  # 08–17, no break
    "governor": load_profile("tashtagol").calendar_for("governor"),  # every day 08–18
    "sobolevo": load_profile("sobolevo").calendar,  # UTC+12
    "always": always_on("Asia/Omsk"),
}
names = st.sampled_from(sorted(CALENDARS))
minutes = st.integers(min_value=0, max_value=60 * 24 * 366 * 3 - 1)
durations = st.integers(min_value=1, max_value=60 * 60).map(lambda m: timedelta(minutes=m))  # up to 60 h
EPOCH = datetime(2024, 1, 1)


def instant(name: str, offset: int) -> datetime:
    cal = CALENDARS[name]
    return (EPOCH + timedelta(minutes=offset)).replace(tzinfo=cal.tz)


def in_working_time(cal, moment: datetime) -> bool:
    """Inside a working interval, or exactly at an interval's end (a term ends *by* then)."""
    local = moment.astimezone(cal.tz)
    return any(a <= local <= b for a, b in cal.day_intervals(local.date()))


@settings(max_examples=300, deadline=None)
@given(name=names, offset=minutes, delta=durations)
def test_add_then_subtract_is_the_identity_on_working_instants(name, offset, delta):
    cal = CALENDARS[name]
    start = cal.next_working_instant(instant(name, offset))
    if not cal.is_working(start):
        return  # exactly at an interval's end: not a working instant
    end = cal.add_working(start, delta)
    assert cal.subtract_working(end, delta) == start
    assert cal.working_between(start, end) == delta


@settings(max_examples=300, deadline=None)
@given(name=names, offset=minutes, delta=durations)
def test_deadlines_counted_in_working_time_never_fall_outside_it(name, offset, delta):
    cal = CALENDARS[name]
    start = instant(name, offset)
    assert in_working_time(cal, cal.add_working(start, delta))
    assert in_working_time(cal, cal.subtract_working(start, delta))


@settings(max_examples=200, deadline=None)
@given(name=names, offset=minutes, a=durations, b=durations)
def test_adding_is_monotonic_and_additive(name, offset, a, b):
    cal = CALENDARS[name]
    start = instant(name, offset)
    assert cal.add_working(start, a) <= cal.add_working(start, a + b)
    assert cal.add_working(cal.add_working(start, a), b) == cal.add_working(start, a + b)


@settings(max_examples=200, deadline=None)
@given(name=names, offset=minutes, days=st.integers(min_value=1, max_value=15))
def test_working_days_end_on_working_days_at_the_end_of_work(name, offset, days):
    cal = CALENDARS[name]
    start = instant(name, offset)
    end = cal.add_working_days(start, days)
    day = (end - timedelta(microseconds=1)).date()  # a day worked to 24:00 ends at the next midnight
    assert cal.is_working_day(day) and end == cal.end_of_working_day(day)
    # exactly `days` working days after the start's date
    counted = sum(
        cal.is_working_day(start.date() + timedelta(days=i)) for i in range(1, (day - start.date()).days + 1)
    )
    assert counted == days
    same = cal.add_working_days(start, days, until="same_time")
    assert in_working_time(cal, same) and same > start


@settings(max_examples=100, deadline=None)
@given(offset=minutes)
def test_utc_offsets_do_not_change_the_answer(offset):
    cal = CALENDARS["sobolevo"]
    start = instant("sobolevo", offset)
    as_moscow = start.astimezone(ZoneInfo("Europe/Moscow"))
    assert cal.add_working(as_moscow, timedelta(hours=3)) == cal.add_working(start, timedelta(hours=3))
