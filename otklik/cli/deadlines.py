"""`otklik deadlines --profile NAME --channel CHANNEL --identified ISO8601 [--importance] [--fast-track]`."""

from __future__ import annotations

import argparse
import json
from datetime import datetime

from otklik.exceptions import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("deadlines", help="print every step's deadline for a message identified at a moment")
    p.add_argument("--profile", required=True, help="sobolevo, zarechny, moskalensky, severny, tashtagol or a path")
    p.add_argument("--channel", required=True, help="social, im, pos, kamchatka, kuzbass_online, governor")
    p.add_argument("--identified", required=True,
                   help="ISO 8601; without a UTC offset it is the municipality's local time")
    p.add_argument("--importance", choices=("normal", "high"), default="normal")
    p.add_argument("--fast-track", action="store_true")
    p.add_argument("--category", help="ПОС: federal_fast_track, regional_fast_track or other")
    p.set_defaults(func=cmd_deadlines)


def cmd_deadlines(args: argparse.Namespace) -> int:
    from regulation.deadlines import compute_deadlines
    from regulation.profiles import load_profile

    profile = load_profile(args.profile)
    profile.channel(args.channel)  # a clear error naming the channels this profile has
    try:
        identified = datetime.fromisoformat(args.identified)
    except ValueError:
        raise ConfigError(f"--identified {args.identified!r} is not ISO 8601 (e.g. 2025-03-07T16:30)") from None
    if identified.tzinfo is None:
        identified = identified.replace(tzinfo=profile.calendar.tz)
    d = compute_deadlines(profile, args.channel, identified, args.importance, args.fast_track, None, args.category)
    out = {"profile": profile.name, "channel": args.channel, "importance": args.importance,
           "fast_track": args.fast_track, **d.local(profile), "clauses": d.clauses}
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0
