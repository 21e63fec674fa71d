"""Periods in the municipality's dates: a report's [start, end) instants from inclusive local dates,
and the scheduled periods (day, week, month, quarter) with their stable keys. Pure."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from otklik.exceptions import OtklikError


class BadPeriod(OtklikError):
    pass


def instants(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[local midnight of `first`, local midnight after `last`)."""
    if last < first:
        raise BadPeriod(f"the period ends ({last}) before it starts ({first})")
    if (last - first).days > 366 * 3:
        raise BadPeriod("a report covers at most three years")
    return (datetime.combine(first, datetime.min.time(), tz),
            datetime.combine(last + timedelta(days=1), datetime.min.time(), tz))


def parse_date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise BadPeriod(f"{name}: not a date (YYYY-MM-DD): {value!r}") from None


def containing(every: str, d: date) -> tuple[str, date, date]:
    """The period of kind `every` that contains local date `d`: (key, first day, last day)."""
    if every == "day":
        return d.isoformat(), d, d
    if every == "week":
        first = d - timedelta(days=d.weekday())
        year, week, _ = first.isocalendar()
        return f"{year}-W{week:02d}", first, first + timedelta(days=6)
    if every == "month":
        first = d.replace(day=1)
        nxt = (first + timedelta(days=32)).replace(day=1)
        return f"{d:%Y-%m}", first, nxt - timedelta(days=1)
    if every == "quarter":
        q = (d.month - 1) // 3
        first = date(d.year, 3 * q + 1, 1)
        nxt = date(d.year + (q == 3), (3 * q + 3) % 12 + 1, 1)
        return f"{d.year}-Q{q + 1}", first, nxt - timedelta(days=1)
    raise BadPeriod(f"unknown period {every!r}")


def last_complete(every: str, today: date) -> tuple[str, date, date]:
    """The latest period of kind `every` that has ended before `today` began."""
    _, first, _ = containing(every, today)
    return containing(every, first - timedelta(days=1))
