"""The work calendar against the official production calendars of 2024–2026, and its arithmetic.

Facts (decrees on moved days off; the Ministry of Labour's calendars): working Saturdays
27 Apr, 2 Nov, 28 Dec 2024 and 1 Nov 2025; shortened days 22 Feb, 7 Mar, 8 May, 11 Jun, 2 Nov
2024; 7 Mar, 30 Apr, 11 Jun, 1 Nov 2025; 30 Apr, 8 May, 11 Jun, 3 Nov 2026; full days although
a day off follows: 27 Apr and 28 Dec 2024, 21 Feb, 7 May and 30 Dec 2025, 20 Feb, 6 Mar and
30 Dec 2026."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from regulation.calendar import WorkCalendar, always_on
from regulation.production import ProductionCalendar
from regulation.profiles import load_profile

NSK = ZoneInfo("Asia/Novosibirsk")
cal = load_profile("severny").calendar  # Mon–Fri 09:00–13:00, 14:00–18:00
prod = ProductionCalendar()


def at(y, m, d, h, mi=0, tz=NSK):
    return datetime(y, m, d, h, mi, tzinfo=tz)


def last_end(d: date) -> time:
    return cal.day_intervals(d)[-1][1].time()


@pytest.mark.parametrize("d", [date(2024, 4, 27), date(2024, 11, 2), date(2024, 12, 28), date(2025, 11, 1)])
def test_saturdays_made_working_by_decree(d):
    assert d.weekday() == 5 and cal.is_working_day(d)


@pytest.mark.parametrize(
    "d",
    [
        *[date(2024, 1, n) for n in range(1, 9)],
        date(2024, 2, 23),
        date(2024, 3, 8),
        date(2024, 4, 29),
        date(2024, 4, 30),
        date(2024, 5, 1),
        date(2024, 5, 9),
        date(2024, 5, 10),
        date(2024, 6, 12),
        date(2024, 11, 4),
        date(2024, 12, 30),
        date(2024, 12, 31),
        *[date(2025, 1, n) for n in range(1, 9)],
        date(2025, 5, 2),
        date(2025, 5, 8),
        date(2025, 6, 13),
        date(2025, 11, 3),
        date(2025, 11, 4),
        date(2025, 12, 31),
        *[date(2026, 1, n) for n in range(1, 12)],
        date(2026, 2, 23),
        date(2026, 3, 9),
        date(2026, 5, 11),
        date(2026, 6, 12),
        date(2026, 11, 4),
        date(2026, 12, 31),
    ],
)
def test_holidays_and_moved_days_off(d):
    assert not cal.is_working_day(d)


@pytest.mark.parametrize(
    "d",
    [
        date(2024, 1, 9),
        date(2025, 1, 9),
        date(2025, 5, 5),
        date(2025, 5, 12),
        date(2026, 1, 12),
        date(2026, 3, 10),
    ],
)
def test_first_working_days_after_the_holidays(d):
    assert cal.is_working_day(d)


SHORTENED = [
    date(2024, 2, 22),
    date(2024, 3, 7),
    date(2024, 5, 8),
    date(2024, 6, 11),
    date(2024, 11, 2),
    date(2025, 3, 7),
    date(2025, 4, 30),
    date(2025, 6, 11),
    date(2025, 11, 1),
    date(2026, 4, 30),
    date(2026, 5, 8),
    date(2026, 6, 11),
    date(2026, 11, 3),
]
FULL = [
    date(2024, 4, 27),
    date(2024, 12, 28),
    date(2025, 2, 21),
    date(2025, 5, 7),
    date(2025, 12, 30),
    date(2026, 2, 20),
    date(2026, 3, 6),
    date(2026, 12, 30),
    date(2025, 3, 6),
]


@pytest.mark.parametrize("d", SHORTENED)
def test_pre_holiday_days_are_one_hour_shorter(d):
    """Labour Code art. 95: the day directly before a non-working holiday is an hour shorter."""
    assert last_end(d) == time(17)
    assert cal.working_between(
        datetime.combine(d, time(0), NSK), datetime.combine(d, time(23), NSK)
    ) == timedelta(hours=7)


@pytest.mark.parametrize("d", FULL)
def test_full_days_before_a_moved_day_off_or_a_weekend(d):
    """Only a holiday itself shortens the day before it; a moved day off or a weekend does not,
    and a working Saturday is as long as the weekday it stands in for."""
    assert last_end(d) == time(18)


def test_working_saturday_stands_in_for_the_weekday_whose_rest_moved():
    assert prod.replaced_weekday(date(2024, 11, 2)) == date(2024, 4, 30)
    assert prod.replaced_weekday(date(2024, 12, 28)) == date(2024, 12, 30)
    assert prod.replaced_weekday(date(2025, 11, 1)) == date(2025, 11, 3)
    assert prod.replaced_weekday(date(2025, 11, 3)) is None  # not a working weekend day


def test_a_working_saturday_uses_the_replaced_weekdays_hours():
    week = {
        0: [(time(8), time(12))],
        1: [(time(9), time(18))],
        2: [(time(9), time(18))],
        3: [(time(9), time(18))],
        4: [(time(9), time(16))],
    }
    c = WorkCalendar("Europe/Moscow", week)
    # 28 Dec 2024 replaced Monday 30 Dec: Monday's hours; 2 Nov 2024 replaced Tuesday 30 Apr,
    # the eve of 1 May: Tuesday's hours, an hour shorter.
    assert [(a.time(), b.time()) for a, b in c.day_intervals(date(2024, 12, 28))] == [(time(8), time(12))]
    assert [(a.time(), b.time()) for a, b in c.day_intervals(date(2024, 11, 2))] == [(time(9), time(17))]


def test_lunch_break_evening_and_weekend_are_skipped():
    assert cal.add_working(at(2025, 3, 5, 12, 30), timedelta(hours=1)) == at(2025, 3, 5, 14, 30)
    assert cal.add_working(at(2025, 3, 5, 17, 30), timedelta(hours=1)) == at(2025, 3, 6, 9, 30)
    assert cal.add_working(at(2025, 3, 5, 23, 0), timedelta(minutes=30)) == at(2025, 3, 6, 9, 30)
    assert cal.add_working(at(2025, 3, 14, 17, 0), timedelta(hours=2)) == at(2025, 3, 17, 10, 0)  # Fri → Mon


def test_a_term_ending_exactly_at_the_end_of_the_day_ends_there():
    assert cal.add_working(at(2025, 3, 5, 9), timedelta(hours=8)) == at(2025, 3, 5, 18)
    assert cal.subtract_working(at(2025, 3, 6, 9), timedelta(hours=1)) == at(2025, 3, 5, 17)


def test_across_the_new_year_holidays():
    # 30 Dec 2025 is a full day (31 Dec is a moved day off, not a holiday); then 12 Jan 2026.
    assert cal.add_working(at(2025, 12, 30, 16), timedelta(hours=9)) == at(2026, 1, 12, 17)  # 2 h + 4 h + 3 h
    # 28 Dec 2024 (a working Saturday, full), then 9 Jan 2025.
    assert cal.add_working(at(2024, 12, 28, 17), timedelta(hours=2)) == at(2025, 1, 9, 10)


def test_across_the_may_holidays_2025():
    # 30 Apr (shortened, to 17:00) → 5 May; 7 May (full) → 12 May.
    assert cal.add_working(at(2025, 4, 30, 16), timedelta(hours=2)) == at(2025, 5, 5, 10)
    assert cal.add_working(at(2025, 5, 7, 17), timedelta(hours=2)) == at(2025, 5, 12, 10)


def test_working_days_calendar_days_and_cutoffs():
    # "within 7 working days": 6, 7, 10, 11, 12, 13, 14 March 2025 (8 March is a holiday).
    assert cal.add_working_days(at(2025, 3, 5, 10), 7) == at(2025, 3, 14, 18)
    # "one working day from the moment": the same clock time next working day.
    assert cal.add_working_days(at(2025, 3, 5, 15), 1, until="same_time") == at(2025, 3, 6, 15)
    assert cal.add_working_days(at(2025, 3, 6, 17, 30), 1, until="same_time") == at(
        2025, 3, 7, 17
    )  # shortened
    assert cal.add_working_days(at(2025, 3, 5, 20), 1, until="same_time") == at(
        2025, 3, 7, 9
    )  # from 09:00 on the 6th
    assert cal.subtract_working_days(at(2025, 3, 10, 18), 1) == at(2025, 3, 7, 17)
    # "N calendar days from the day of": to 24:00 of the N-th day; "same_time": N×24 hours.
    assert cal.add_calendar_days(at(2025, 3, 5, 10), 10) == datetime(2025, 3, 15, 23, 59, 59, tzinfo=NSK)
    assert cal.add_calendar_days(at(2025, 3, 5, 10), 2, until="same_time") == at(2025, 3, 7, 10)
    assert cal.cutoff_same_day(at(2025, 3, 5, 10), time(18)) == at(2025, 3, 5, 18)
    assert cal.cutoff_same_day(at(2025, 3, 7, 19), time(18)) == at(
        2025, 3, 10, 18
    )  # past the holiday weekend
    assert cal.cutoff_same_day(at(2025, 3, 8, 10), time(18)) == at(2025, 3, 10, 18)


def test_overrides_time_zones_and_naive_local_times():
    week = {d: [(time(9), time(18))] for d in range(5)}
    kam = ZoneInfo("Asia/Kamchatka")
    c = WorkCalendar(
        "Asia/Kamchatka", week, overrides={date(2025, 3, 5): [], date(2025, 3, 8): [(time(10), time(12))]}
    )
    assert not c.is_working_day(date(2025, 3, 5))
    assert c.is_working(datetime(2025, 3, 8, 11, tzinfo=kam))  # a holiday worked by decision of the region
    assert c.add_working(datetime(2025, 3, 4, 17, tzinfo=kam), timedelta(hours=2)) == datetime(
        2025, 3, 6, 10, tzinfo=kam
    )
    # 09:30 in Moscow is 18:30 in Kamchatka: after hours there.
    assert not c.is_working(datetime(2025, 3, 6, 9, 30, tzinfo=ZoneInfo("Europe/Moscow")))
    assert c.is_working(datetime(2025, 3, 6, 10, 0))  # naive = local


def test_always_on_calendar_counts_every_hour():
    c = always_on("Asia/Novokuznetsk")
    nkz = ZoneInfo("Asia/Novokuznetsk")
    start = datetime(2025, 1, 1, 23, 30, tzinfo=nkz)  # a holiday, at night
    assert c.is_working(start)
    assert c.add_working(start, timedelta(hours=1)) == datetime(2025, 1, 2, 0, 30, tzinfo=nkz)
    assert c.working_between(start, start + timedelta(days=2)) == timedelta(days=2)


def test_no_production_calendar_for_a_daily_channel():
    gov = load_profile("tashtagol").calendar_for("governor")
    assert gov.is_working_day(date(2025, 1, 1)) and gov.is_working_day(date(2025, 3, 8))
    assert gov.day_intervals(date(2025, 3, 7))[-1][1].time() == time(18)  # no pre-holiday shortening
