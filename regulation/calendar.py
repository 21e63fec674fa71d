"""Working time: a municipality's weekly schedule in its time zone, the Russian production
calendar (holidays.RU: holidays and transferred days off and working Saturdays), dated overrides,
and the pre-holiday day one hour shorter (Labour Code art. 95, which `holidays` does not apply).

All arithmetic walks the working intervals of each local day, so a deadline counted in working
time can never land at night, at a weekend or on a holiday.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

Interval = tuple[time, time]
MAX_DAYS = 3660  # no schedule is searched further than ten years


class WorkCalendar:
    def __init__(self, tz: str, week: dict[int, list[Interval]], *, overrides: dict[date, list[Interval]] | None = None,
                 production_calendar: bool = True, shorten_pre_holiday: bool = True) -> None:
        """`week` maps weekday (0 = Monday) to working intervals; `overrides` replace a date's
        intervals entirely (an empty list: a day off)."""
        self.tz = ZoneInfo(tz)
        self.week = {d: sorted(week.get(d, [])) for d in range(7)}
        self.overrides = overrides or {}
        self.production_calendar = production_calendar
        self.shorten_pre_holiday = shorten_pre_holiday
        self._ru = holidays.RU()

    # -- days ----------------------------------------------------------------------------------
    def _official_working(self, d: date) -> bool:
        if self.production_calendar:
            return self._ru.is_working_day(d)
        return d.weekday() < 5

    def _is_public_holiday(self, d: date) -> bool:
        # Transferred days off are named "Day off (substituted from ...)"; only the holidays of
        # Labour Code art. 112 shorten the day before them.
        name = self._ru.get(d)
        return bool(name) and not any(n.startswith("Day off") for n in name.split("; "))

    def is_pre_holiday(self, d: date) -> bool:
        """The last working day before a public holiday, weekends and days off in between allowed."""
        if not self.production_calendar or not self._official_working(d):
            return False
        nxt = d + timedelta(days=1)
        while not self._official_working(nxt):
            if self._is_public_holiday(nxt):
                return True
            nxt += timedelta(days=1)
        return False

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - calendars live as long as their profile
    def day_intervals(self, d: date) -> tuple[tuple[datetime, datetime], ...]:
        """Working intervals of a local date as aware datetimes."""
        if d in self.overrides:
            spans = sorted(self.overrides[d])
        elif not self._official_working(d):
            return ()
        else:
            spans = self.week.get(d.weekday()) or []
            if not spans and self.production_calendar and d.weekday() >= 5:
                spans = self.week.get(4) or self.week.get(0) or []  # a working Saturday works like Friday
            spans = list(spans)
            if spans and self.shorten_pre_holiday and self.is_pre_holiday(d):
                start, end = spans[-1]
                shortened = (datetime.combine(d, end) - timedelta(hours=1)).time()
                spans[-1] = (start, max(start, shortened))
        out = []
        for start, end in spans:
            a = datetime.combine(d, start, self.tz)
            b = datetime.combine(d, end, self.tz)
            if b > a:
                out.append((a, b))
        return tuple(out)

    def is_working_day(self, d: date) -> bool:
        return bool(self.day_intervals(d))

    def is_working(self, at: datetime) -> bool:
        local = at.astimezone(self.tz)
        return any(a <= local < b for a, b in self.day_intervals(local.date()))

    # -- arithmetic ------------------------------------------------------------------------------
    def add_working(self, start: datetime, delta: timedelta) -> datetime:
        """The instant when `delta` of working time has passed after `start`."""
        if delta < timedelta(0):
            return self.subtract_working(start, -delta)
        local = start.astimezone(self.tz)
        left = delta
        d = local.date()
        for _ in range(MAX_DAYS):
            for a, b in self.day_intervals(d):
                if b <= local:
                    continue
                begin = max(a, local)
                if begin + left <= b:
                    # A zero remainder at an interval's end is that end, not the next start.
                    return begin + left
                left -= b - begin
            d += timedelta(days=1)
        raise ValueError("no working time found within ten years: check the schedule")

    def subtract_working(self, end: datetime, delta: timedelta) -> datetime:
        """The instant `delta` of working time before `end`."""
        if delta < timedelta(0):
            return self.add_working(end, -delta)
        local = end.astimezone(self.tz)
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
        total = timedelta(0)
        d = start.astimezone(self.tz).date()
        while d <= end.astimezone(self.tz).date():
            for a, b in self.day_intervals(d):
                lo, hi = max(a, start), min(b, end)
                if hi > lo:
                    total += hi - lo
            d += timedelta(days=1)
        return total

    def end_of_working_day(self, d: date) -> datetime:
        return self.day_intervals(d)[-1][1]

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """"Within N working days of start": the end of the N-th working day after start's day."""
        d = start.astimezone(self.tz).date()
        counted = 0
        for _ in range(MAX_DAYS):
            d += timedelta(days=1)
            if self.is_working_day(d):
                counted += 1
                if counted >= days:
                    return self.end_of_working_day(d)
        raise ValueError("no working day found within ten years: check the schedule")

    def add_calendar_days(self, start: datetime, days: int) -> datetime:
        """"Within N calendar days": the same local clock time N days later."""
        local = start.astimezone(self.tz)
        return datetime.combine(local.date() + timedelta(days=days), local.timetz().replace(tzinfo=None), self.tz)

    def cutoff_same_day(self, at: datetime, cutoff: time) -> datetime:
        """"The same day before 18:00": today's cut-off if still ahead, else the next working day's."""
        local = at.astimezone(self.tz)
        today = datetime.combine(local.date(), cutoff, self.tz)
        if local < today:
            return today
        d = local.date() + timedelta(days=1)
        while not self.is_working_day(d):
            d += timedelta(days=1)
        return datetime.combine(d, cutoff, self.tz)
