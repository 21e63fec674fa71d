"""`otklik forecast --history FILE --horizon DAYS [--from DATE] [--by-group]`: the expected number of
incoming messages per day, with an 80% interval (regulation 004 §14.8), one JSON line per day.

Without --history the database is read (messages.created_at in the municipality's time zone,
per topic group from cases.topic_group). With --by-group the overall lines come first, then
each group's lines carry a "group" key.
"""

from __future__ import annotations

import argparse
import json
from datetime import date, timedelta

from otklik.exceptions import OtklikError

NO_GROUP = "без группы"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("forecast", help="expected incoming messages per day, with an 80%% interval (JSON lines)")
    p.add_argument("--history", metavar="FILE", help="CSV with a 'created' column (ISO 8601), one row a message; "
                   "default: the database")
    p.add_argument("--horizon", type=int, default=14, metavar="DAYS", help="days to forecast (1-28, default 14)")
    p.add_argument("--from", dest="start", metavar="DATE", help="first forecast day (default: the day after the "
                   "last day in the history); only the history before it is used")
    p.add_argument("--by-group", action="store_true", help="also per topic group (CSV: a 'topic_group' column)")
    p.add_argument("--profile", help="regulation profile, for its time zone (default: from the settings)")
    p.set_defaults(func=cmd_forecast)


def _timezone(profile: str | None) -> str:
    from otklik.settings import load_settings
    from regulation.profiles import load_profile

    return load_profile(profile or load_settings().profile).timezone


def _from_database(tz: str, by_group: bool) -> list[tuple[date, str | None]]:
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from otklik.settings import load_settings
    from storage.db import Database
    from storage.tables import CaseRow, MessageRow

    zone = ZoneInfo(tz)
    q = select(MessageRow.created_at, CaseRow.topic_group).outerjoin(CaseRow, CaseRow.message_id == MessageRow.id)
    with Database.connect(load_settings().database_url).session() as s:
        rows = s.execute(q).all()
    out = []
    for created, group in rows:
        local = (created.replace(tzinfo=ZoneInfo("UTC")) if created.tzinfo is None else created).astimezone(zone)
        out.append((local.date(), (group or NO_GROUP) if by_group else None))
    return out


def cmd_forecast(args: argparse.Namespace) -> int:
    # Imported here: statsmodels takes seconds to load, and every `otklik` command builds this parser.
    from reports.forecast import ForecastError, daily_counts, forecast, read_history

    if not 1 <= args.horizon <= 28:
        raise OtklikError("--horizon must be between 1 and 28 days")
    try:
        start = date.fromisoformat(args.start) if args.start else None
    except ValueError:
        raise OtklikError(f"--from {args.start!r} is not a date (YYYY-MM-DD)") from None
    if args.history:
        # The time zone matters only for aware timestamps; a CSV of local times needs no settings.
        rows = read_history(args.history, _safe_timezone(args.profile),
                            group_column="topic_group" if args.by_group else None)
    else:
        rows = _from_database(_timezone(args.profile), args.by_group)
        if not rows:
            raise ForecastError("the database holds no messages yet")
    first = start or max(d for d, _ in rows) + timedelta(days=1)
    # A --from inside the history forecasts as of that day: what came after is not known then.
    rows = [(d, g) for d, g in rows if d < first]
    if not rows:
        raise ForecastError(f"no history before {first.isoformat()}")
    overall = daily_counts(d for d, _ in rows)
    for day in forecast(overall, first, args.horizon):
        print(json.dumps(day.as_dict(), ensure_ascii=False))
    if args.by_group:
        for group in sorted({g or NO_GROUP for _, g in rows}):
            counts = daily_counts(d for d, g in rows if (g or NO_GROUP) == group)
            # A group's series spans the whole history: days before its first message are zeros.
            for d in overall:
                counts.setdefault(d, 0)
            try:
                days = forecast(dict(sorted(counts.items())), first, args.horizon)
            except ForecastError:
                continue  # cannot happen with the overall span; kept so one group never stops the rest
            for day in days:
                print(json.dumps({"group": group, **day.as_dict()}, ensure_ascii=False))
    return 0


def _safe_timezone(profile: str | None) -> str | None:
    try:
        return _timezone(profile)
    except Exception:  # noqa: BLE001 - no settings or profile on this machine: take times as given
        return None
