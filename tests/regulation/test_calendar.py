from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from regulation.calendar import WorkCalendar
from regulation.profiles import load_profile

NSK = ZoneInfo("Asia/Novosibirsk")
cal = load_profile("severny").calendar


def at(y, m, d, h, mi=0):
    return datetime(y, m, d, h, mi, tzinfo=NSK)


def test_transferred_saturdays_are_working_days():
    # The official 2024 and 2025 production calendars moved working days to these Saturdays.
    for d in (date(2024, 4, 27), date(2024, 11, 2), date(2024, 12, 28), date(2025, 11, 1)):
        assert cal.is_working_day(d), d


def test_new_year_holidays_and_transferred_days_off():
    for d in (date(2025, 1, 1), date(2025, 1, 8), date(2025, 5, 2), date(2025, 12, 31), date(2026, 1, 9)):
        assert not cal.is_working_day(d), d
    assert cal.is_working_day(date(2026, 1, 12))


def test_pre_holiday_day_is_one_hour_shorter():
    # Labour Code art. 95: the working day before a non-working holiday is one hour shorter.
    for d in (date(2024, 2, 22), date(2024, 5, 8), date(2025, 3, 7), date(2025, 4, 30), date(2025, 6, 11)):
        assert cal.day_intervals(d)[-1][1].time() == time(17), d
    assert cal.day_intervals(date(2025, 3, 6))[-1][1].time() == time(18)
    # 27 April 2024, a working Saturday, came right before the May holidays: shortened too.
    assert cal.day_intervals(date(2024, 4, 27))[-1][1].time() == time(17)


def test_lunch_break_and_evening_are_skipped():
    assert cal.add_working(at(2025, 3, 5, 12, 30), timedelta(hours=1)) == at(2025, 3, 5, 14, 30)
    assert cal.add_working(at(2025, 3, 5, 17, 30), timedelta(hours=1)) == at(2025, 3, 6, 9, 30)
    assert cal.add_working(at(2025, 3, 5, 23, 0), timedelta(minutes=30)) == at(2025, 3, 6, 9, 30)


def test_across_new_year():
    # 30 Dec 2025 (shortened: 31 Dec is a day off before the 1 Jan holiday), then 12 Jan 2026.
    assert cal.add_working(at(2025, 12, 30, 16), timedelta(hours=9)) == at(2026, 1, 12, 18)


def test_working_and_calendar_days_and_cutoff():
    assert cal.add_working_days(at(2025, 3, 5, 10), 7) == at(2025, 3, 14, 18)  # 6, 7, 10…14 March
    assert cal.add_calendar_days(at(2025, 3, 5, 10), 10) == at(2025, 3, 15, 10)
    assert cal.cutoff_same_day(at(2025, 3, 5, 10), time(18)) == at(2025, 3, 5, 18)
    assert cal.cutoff_same_day(at(2025, 3, 7, 19), time(18)) == at(2025, 3, 10, 18)  # past the weekend


def test_overrides_and_time_zone():
    week = {d: [(time(9), time(18))] for d in range(5)}
    c = WorkCalendar("Asia/Kamchatka", week, overrides={date(2025, 3, 5): []})
    kam = ZoneInfo("Asia/Kamchatka")
    assert not c.is_working_day(date(2025, 3, 5))
    assert c.add_working(datetime(2025, 3, 4, 17, tzinfo=kam), timedelta(hours=2)) == \
        datetime(2025, 3, 6, 10, tzinfo=kam)


instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 1)).map(
    lambda d: d.replace(tzinfo=NSK, second=0, microsecond=0))
durations = st.integers(min_value=1, max_value=60 * 60).map(lambda m: timedelta(minutes=m))


@settings(max_examples=300, deadline=None)
@given(start=instants, delta=durations)
def test_add_then_subtract_is_identity_on_working_instants(start, delta):
    if not cal.is_working(start):
        start = cal.add_working(start, timedelta(0))  # the next working instant
        if not cal.is_working(start):
            return  # exactly at an interval's end
    end = cal.add_working(start, delta)
    assert cal.subtract_working(end, delta) == start
    assert cal.working_between(start, end) == delta


@settings(max_examples=300, deadline=None)
@given(start=instants, delta=durations)
def test_working_deadlines_never_fall_outside_working_time(start, delta):
    end = cal.add_working(start, delta)
    # The deadline is inside a working interval or exactly at its end.
    assert cal.is_working(end) or cal.is_working(end - timedelta(minutes=1))
