"""Working time of a municipality: a weekly schedule (several intervals a day) in its time zone,
the Russian production calendar (holidays, days off moved by decree, Saturdays made working,
pre-holiday days one hour shorter — regulation/production.py), and dated overrides.

Every computation walks the working intervals of each local day, so a deadline counted in
working time never lands at night, at a weekend or on a holiday. Naive datetimes are read as the
municipality's local time; results are aware datetimes in that zone.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from regulation.production import ProductionCalendar

Interval = tuple[time, time]  # an end of 00:00 means midnight at the end of the day (24:00)
Until = Literal["end_of_day", "same_time"]
MAX_DAYS = 3660  # no schedule is searched further than ten years
END_OF_DAY = time(23, 59, 59)  # "before 24:00 of the last day" (Civil Code art. 194)


class WorkCalendar:
    def __init__(
        self,
        tz: str,
        week: Mapping[int, list[Interval]],
        *,
        overrides: Mapping[date, list[Interval]] | None = None,
        production_calendar: bool = True,
        shorten_pre_holiday: bool = True,
    ) -> None:
        """`week` maps a weekday (0 = Monday) to its working intervals; `overrides` replace a
        date's intervals entirely (an empty list makes it a day off). Without the production
        calendar, only the weekly schedule and the overrides count (a channel worked daily)."""
        self.tz = ZoneInfo(tz)
        self.week = {d: sorted(week.get(d, [])) for d in range(7)}
        self.overrides = dict(overrides or {})
        self.production_calendar = production_calendar
        self.shorten_pre_holiday = shorten_pre_holiday
        self._production = ProductionCalendar()

    # -- days ------------------------------------------------------------------------------------
    def local(self, at: datetime) -> datetime:
        return at.replace(tzinfo=self.tz) if at.tzinfo is None else at.astimezone(self.tz)

    def is_pre_holiday(self, d: date) -> bool:
        return self.production_calendar and self._production.is_pre_holiday(d)

    def _spans(self, d: date) -> list[Interval]:
        if d in self.overrides:
            return sorted(self.overrides[d])
        if not self.production_calendar:
            return list(self.week[d.weekday()])
        if self._production.is_holiday_or_day_off(d):
            return []
        spans = list(self.week[d.weekday()])  # a schedule with Saturdays keeps them
        if not spans and self._production.is_weekend_workday(d):
            # A weekend day made working by decree works like the weekday it stands in for.
            stands_for = self._production.replaced_weekday(d)
            spans = list(self.week[stands_for.weekday()] if stands_for else self.week[4])
        if spans and self.shorten_pre_holiday and self._production.is_pre_holiday(d):
            start, end = spans[-1]
            shortened = datetime.combine(d + timedelta(days=1) if end == time(0) else d, end) - timedelta(
                hours=1
            )
            if shortened > datetime.combine(d, start):
                spans[-1] = (start, shortened.time())
            else:
                spans.pop()  # a last interval of an hour or less disappears entirely
        return spans

    @functools.lru_cache(maxsize=8192)  # noqa: B019 - a calendar lives as long as its profile
    def day_intervals(self, d: date) -> tuple[tuple[datetime, datetime], ...]:
        """The working intervals of a local date, as aware datetimes."""
        out = []
        for start, end in self._spans(d):
            a = datetime.combine(d, start, self.tz)
            b = datetime.combine(d + timedelta(days=1) if end == time(0) else d, end, self.tz)
            if b > a:
                out.append((a, b))
        return tuple(out)

    def is_working_day(self, d: date) -> bool:
        return bool(self.day_intervals(d))

    def is_working(self, at: datetime) -> bool:
        local = self.local(at)
        return any(a <= local < b for a, b in self.day_intervals(local.date()))

    def end_of_working_day(self, d: date) -> datetime:
        return self.day_intervals(d)[-1][1]

    def _working_days_after(self, d: date, n: int) -> date:
        counted = 0
        for _ in range(MAX_DAYS):
            d += timedelta(days=1)
            if self.is_working_day(d):
                counted += 1
                if counted >= n:
                    return d
        raise ValueError("no working day found within ten years: check the schedule")

    def _working_days_before(self, d: date, n: int) -> date:
        counted = 0
        for _ in range(MAX_DAYS):
            d -= timedelta(days=1)
            if self.is_working_day(d):
                counted += 1
                if counted >= n:
                    return d
        raise ValueError("no working day found within ten years: check the schedule")

    # -- working time ------------------------------------------------------------------------------
    def add_working(self, start: datetime, delta: timedelta) -> datetime:
        """The instant when `delta` of working time has passed after `start`. A zero delta gives
        the next working instant (or `start` itself when it is working)."""
        if delta < timedelta(0):
            return self.subtract_working(start, -delta)
        local = self.local(start)
        left = delta
        d = local.date()
        for _ in range(MAX_DAYS):
            for a, b in self.day_intervals(d):
                if b <= local:
                    continue
                begin = max(a, local)
                if begin + left <= b:
                    # A remainder that ends exactly at an interval's end is that end, not the next
                    # start: "within 8 working hours" from 09:00 is 18:00 the same day.
                    return begin + left
                left -= b - begin
            d += timedelta(days=1)
        raise ValueError("no working time found within ten years: check the schedule")

    def subtract_working(self, end: datetime, delta: timedelta) -> datetime:
        """The instant `delta` of working time before `end`."""
        if delta < timedelta(0):
            return self.add_working(end, -delta)
        local = self.local(end)
        left = delta
        d = local.date()
        for _ in range(MAX_DAYS):
            for a, b in reversed(self.day_intervals(d)):
                if a >= local:
                    continue
                finish = min(b, local)
                if finish - left >= a:
                    return finish - left
                left -= finish - a
            d -= timedelta(days=1)
        raise ValueError("no working time found within ten years: check the schedule")

    def working_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time inside [start, end) (zero when end is not after start)."""
        start, end = self.local(start), self.local(end)
        total = timedelta(0)
        d = start.date() - timedelta(days=1)  # an interval may cross midnight into start's date
        while d <= end.date():
            for a, b in self.day_intervals(d):
                lo, hi = max(a, start), min(b, end)
                if hi > lo:
                    total += hi - lo
            d += timedelta(days=1)
        return total

    def next_working_instant(self, at: datetime) -> datetime:
        return self.add_working(at, timedelta(0))

    def last_working_instant(self, at: datetime) -> datetime:
        """`at` if it is within working time or at an interval's end, else the end of the last
        working interval before it."""
        local = self.local(at)
        d = local.date()
        for _ in range(MAX_DAYS):
            for a, b in reversed(self.day_intervals(d)):
                if a <= local:
                    return min(local, b)
            d -= timedelta(days=1)
        raise ValueError("no working time found within ten years: check the schedule")

    # -- days as units ---------------------------------------------------------------------------
    def add_working_days(self, start: datetime, days: int, *, until: Until = "end_of_day") -> datetime:
        """ "Within N working days": counting starts the next day (Civil Code art. 191), the term
        ends when that N-th working day's work ends (art. 194 ¶1: when the organisation stops
        work). `same_time` ("N working days from the moment"): the same clock time on the N-th
        working day after the next working instant, or that day's end if it is shorter."""
        if days < 1:
            raise ValueError("a term in working days needs at least one day")
        if until == "end_of_day":
            return self.end_of_working_day(self._working_days_after(self.local(start).date(), days))
        begin = self.next_working_instant(start)
        d = self._working_days_after(begin.date(), days)
        target = datetime.combine(d, begin.timetz().replace(tzinfo=None), self.tz)
        return self.last_working_instant(min(target, self.end_of_working_day(d)))

    def subtract_working_days(self, end: datetime, days: int) -> datetime:
        """ "N working days before the deadline": the end of the N-th working day before it."""
        return self.end_of_working_day(self._working_days_before(self.local(end).date(), days))

    def add_calendar_days(self, start: datetime, days: int, *, until: Until = "end_of_day") -> datetime:
        """ "Within N calendar days of the day of X": counting starts the next day and the term
        ends at 24:00 of the N-th day (Civil Code art. 191, 194 — shown as 23:59:59 local).
        `same_time`: exactly N×24 hours of the local clock (a platform's timer)."""
        local = self.local(start)
        if until == "same_time":
            return datetime.combine(
                local.date() + timedelta(days=days), local.timetz().replace(tzinfo=None), self.tz
            )
        return datetime.combine(local.date() + timedelta(days=days), END_OF_DAY, self.tz)

    def subtract_calendar_days(self, end: datetime, days: int) -> datetime:
        local = self.local(end)
        return datetime.combine(
            local.date() - timedelta(days=days), local.timetz().replace(tzinfo=None), self.tz
        )

    def cutoff_same_day(self, at: datetime, cutoff: time) -> datetime:
        """ "The same day before 18:00": today's cut-off when today is a working day and the
        cut-off is still ahead, otherwise the next working day's. A channel worked every day
        has a calendar where every day is a working day."""
        local = self.local(at)
        today = datetime.combine(local.date(), cutoff, self.tz)
        if local < today and self.is_working_day(local.date()):
            return today
        return datetime.combine(self._working_days_after(local.date(), 1), cutoff, self.tz)


ALWAYS = {d: [(time(0), time(0))] for d in range(7)}


def always_on(tz: str) -> WorkCalendar:
    """Every hour of every day: for requests that may be demanded at any hour (004 §2.1)."""
    return WorkCalendar(tz, ALWAYS, production_calendar=False, shorten_pre_holiday=False)
