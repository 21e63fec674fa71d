"""`otklik deadlines --profile NAME --channel CHANNEL --identified ISO8601 [--importance high|normal]
[--fast-track] [--category C] [--platform-deadline ISO8601]`: every step's deadline as JSON, in the
municipality's UTC offset, assuming each step happens as soon as it may."""

from __future__ import annotations

import argparse
import json
from datetime import datetime

from otklik.exceptions import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "deadlines",
        help="print every step's deadline for a message identified at a moment",
        description="Every step's deadline under a municipality's regulation, as JSON with the "
        "municipality's UTC offset. Each step is assumed to happen as soon as it may (routing at "
        "identification, the draft at once …); `full_term_chain` shows the other reading, where "
        "the draft arrives at its deadline and each later step uses its whole term.",
    )
    p.add_argument(
        "--profile", required=True, help="sobolevo, zarechny, moskalensky, severny, tashtagol or a path"
    )
    p.add_argument("--channel", required=True, help="social, im, pos, kamchatka, kuzbass_online, governor")
    p.add_argument(
        "--identified",
        required=True,
        help="ISO 8601; without a UTC offset it is the municipality's local time",
    )
    p.add_argument("--importance", choices=("normal", "high"), default="normal")
    p.add_argument("--fast-track", action="store_true", help="fast-track message (Камчатка, ПОС)")
    p.add_argument("--category", help="ПОС: federal_fast_track, regional_fast_track or other")
    p.add_argument(
        "--platform-deadline", help="the platform's own deadline (ПОС answerAt, Incident Management)"
    )
    p.set_defaults(func=cmd_deadlines)


def _moment(value: str, option: str, tz) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"{option} {value!r} is not ISO 8601 (e.g. 2025-03-07T16:30 or 2025-03-07T16:30+03:00)"
        ) from None
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def cmd_deadlines(args: argparse.Namespace) -> int:
    from regulation.deadlines import compute_deadlines, full_term_chain
    from regulation.profiles import load_profile

    profile = load_profile(args.profile)
    rules = profile.channel(args.channel)  # a clear error naming the channels this profile has
    if args.category and args.category not in rules.answer_by_category:
        known = ", ".join(rules.answer_by_category) or "none on this channel"
        raise ConfigError(f"--category {args.category!r} is not known here; categories: {known}")
    tz = profile.calendar.tz
    identified = _moment(args.identified, "--identified", tz)
    platform = _moment(args.platform_deadline, "--platform-deadline", tz) if args.platform_deadline else None
    d = compute_deadlines(
        profile, args.channel, identified, args.importance, args.fast_track, platform, category=args.category
    )
    chain = full_term_chain(profile, args.channel, d, args.importance)
    out = {
        "profile": profile.name,
        "municipality": profile.municipality,
        "channel": args.channel,
        "time_zone": profile.timezone,
        "importance": args.importance,
        "fast_track": args.fast_track,
        "approver": profile.approver_for(args.channel),
        **d.local(profile),
        "clauses": d.clauses,
        "notes": d.notes,
        "full_term_chain": {k: v.astimezone(tz).isoformat() for k, v in chain.items()},
    }
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0
