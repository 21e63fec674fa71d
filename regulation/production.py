"""The Russian production calendar: which days are worked and which are one hour shorter.

`holidays.RU` (pinned 0.108) knows the non-working holidays, the days off moved by government
decree and the Saturdays made working. It does not know Labour Code art. 95 — "the working day
directly preceding a non-working holiday is one hour shorter" — so that rule lives here, as the
Ministry of Labour applies it in the official production calendars:

- only the art. 112 holidays count (1–8 January, 23 February, 8 March, 1 and 9 May, 12 June,
  4 November), not a day off moved by decree: 30 December 2025 (before the moved day off of
  31 December) and 7 May 2025 (before the moved day off of 8 May) were full days;
- "directly preceding" means the next calendar day is the holiday: Friday 21 February 2025
  (then Saturday, then Sunday 23 February) was a full day, Friday 7 March 2025 (then Saturday
  8 March) was shortened;
- a Saturday made working stands in for the weekday whose rest was moved, and is as long as
  that weekday would have been: 2 November 2024 replaced 30 April (the eve of 1 May): shortened;
  28 December 2024 replaced Monday 30 December (before the moved day off of 31 December): a
  full day; 1 November 2025 replaced Monday 3 November (the eve of 4 November): shortened.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta

import holidays

# Labour Code art. 112 ¶1 (as in force since 2013): the non-working holidays.
ART_112_HOLIDAYS = frozenset(
    [(1, day) for day in range(1, 9)] + [(2, 23), (3, 8), (5, 1), (5, 9), (6, 12), (11, 4)]
)


def is_art_112_holiday(d: date) -> bool:
    return (d.month, d.day) in ART_112_HOLIDAYS


@functools.cache
def _moved_rest_days() -> dict[date, date]:
    """Working weekend day → the weekday that became a day off in its place, from the decrees
    `holidays` carries (an internal table of the pinned version; empty if it ever moves)."""
    try:
        from holidays.countries.russia import RussiaStaticHolidays

        table = RussiaStaticHolidays.special_public_holidays
    except (ImportError, AttributeError):  # pragma: no cover - guarded by the version pin
        return {}
    moved: dict[date, date] = {}
    for year, entries in table.items():
        if entries and not isinstance(entries[0], tuple):
            entries = (entries,)
        for entry in entries:
            if len(entry) != 4:
                continue  # other shapes (with a year of origin) do not occur in RU; skip safely
            month, day, from_month, from_day = entry
            try:
                moved[date(year, from_month, from_day)] = date(year, month, day)
            except ValueError:
                continue
    return moved


class ProductionCalendar:
    """Working days of the five-day week by the Russian production calendar."""

    def __init__(self) -> None:
        self._ru = holidays.RU()

    def is_working_day(self, d: date) -> bool:
        """A working day of the five-day week."""
        return self._ru.is_working_day(d)

    def is_holiday_or_day_off(self, d: date) -> bool:
        """A non-working holiday or a day off moved by decree (not an ordinary weekend)."""
        return d in self._ru

    def is_weekend_workday(self, d: date) -> bool:
        """A Saturday or Sunday made a working day by decree (27 April 2024, 1 November 2025 …)."""
        return d.weekday() >= 5 and self._ru.is_working_day(d)

    def replaced_weekday(self, d: date) -> date | None:
        """For a working weekend day: the weekday that got its rest (2 Nov 2024 → 30 Apr 2024)."""
        if not self.is_weekend_workday(d):
            return None
        return _moved_rest_days().get(d)

    def is_pre_holiday(self, d: date) -> bool:
        """One hour shorter under Labour Code art. 95 (see the module docstring for the rule)."""
        if not self.is_working_day(d):
            return False
        if is_art_112_holiday(d + timedelta(days=1)):
            return True
        stands_for = self.replaced_weekday(d)
        return stands_for is not None and is_art_112_holiday(stands_for + timedelta(days=1))
