"""A person's notification preferences and the quiet-hours rule (pure parts first).

Times are "HH:MM" in the municipality's time zone. The console always keeps a note (it is the
record people read and mark read); the other channels are the person's choice. Quiet hours defer
a note to their end, except a head's urgent report (otklik.notify.recipients.URGENT)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from otklik.exceptions import InvalidTransition
from storage.tables import NotifyPreferenceRow, now

CHANNELS = ("email", "telegram", "max", "console")
DEFAULT_CHANNELS = ("email", "telegram", "max")  # each only once the person has an address there
DEFAULT_DIGEST_AT = "08:30"
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Prefs:
    channels: tuple[str, ...] = DEFAULT_CHANNELS
    quiet_start: str | None = None
    quiet_end: str | None = None
    digest: bool = True
    digest_at: str = DEFAULT_DIGEST_AT
    delivery: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        # The console is always delivered; listed channels in CHANNELS order.
        object.__setattr__(self, "delivery", tuple(c for c in CHANNELS if c in self.channels or c == "console"))


def parse_hhmm(value: str, what: str) -> time:
    m = _HHMM.match(value or "")
    if not m:
        raise InvalidTransition(f"{what}: время в формате ЧЧ:ММ (например 22:00), не {value!r}")
    return time(int(m.group(1)), int(m.group(2)))


def quiet_until(at: datetime, prefs: Prefs, tz: ZoneInfo) -> datetime | None:
    """When a non-urgent note due at `at` may go: the end of the quiet hours `at` falls in, or
    None when it is not inside them. A span across midnight (22:00–07:00) is the usual case."""
    if not (prefs.quiet_start and prefs.quiet_end) or prefs.quiet_start == prefs.quiet_end:
        return None
    start, end = parse_hhmm(prefs.quiet_start, "quiet_start"), parse_hhmm(prefs.quiet_end, "quiet_end")
    local = at.astimezone(tz)
    t = local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= t < end
        end_day = local.date()
    else:  # across midnight
        inside = t >= start or t < end
        end_day = local.date() + timedelta(days=1) if t >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tz)


def of_row(row: NotifyPreferenceRow | None) -> Prefs:
    if row is None:
        return Prefs()
    return Prefs(channels=tuple(row.channels or ()), quiet_start=row.quiet_start, quiet_end=row.quiet_end,
                 digest=row.digest, digest_at=row.digest_at or DEFAULT_DIGEST_AT)


def load(session: Session, user_id: int) -> Prefs:
    return of_row(session.get(NotifyPreferenceRow, user_id))


def load_many(session: Session, user_ids: list[int]) -> dict[int, Prefs]:
    from sqlalchemy import select

    rows = {r.user_id: r for r in session.execute(
        select(NotifyPreferenceRow).where(NotifyPreferenceRow.user_id.in_(user_ids))).scalars()} if user_ids else {}
    return {uid: of_row(rows.get(uid)) for uid in user_ids}


def validate(channels: list[str] | None, quiet_start: str | None, quiet_end: str | None,
             digest_at: str | None) -> None:
    """Clear Russian errors for staff (the console and the CLI show them as they are)."""
    for c in channels or ():
        if c not in CHANNELS:
            raise InvalidTransition(f"неизвестный канал {c!r}: допустимы {', '.join(CHANNELS)}")
    if bool(quiet_start) != bool(quiet_end):
        raise InvalidTransition("тихие часы: укажите и начало, и конец (или ни того, ни другого)")
    for value, what in ((quiet_start, "начало тихих часов"), (quiet_end, "конец тихих часов"),
                        (digest_at, "время сводки")):
        if value:
            parse_hhmm(value, what)


def save(session: Session, user_id: int, prefs: Prefs) -> NotifyPreferenceRow:
    validate(list(prefs.channels), prefs.quiet_start, prefs.quiet_end, prefs.digest_at)
    row = session.get(NotifyPreferenceRow, user_id)
    if row is None:
        row = NotifyPreferenceRow(user_id=user_id)
        session.add(row)
    row.channels = [c for c in CHANNELS if c in prefs.channels]
    row.quiet_start, row.quiet_end = prefs.quiet_start or None, prefs.quiet_end or None
    row.digest, row.digest_at, row.updated_at = prefs.digest, prefs.digest_at or DEFAULT_DIGEST_AT, now()
    return row


def as_dict(prefs: Prefs) -> dict:
    return {"channels": [c for c in CHANNELS if c in prefs.delivery], "quiet_start": prefs.quiet_start,
            "quiet_end": prefs.quiet_end, "digest": prefs.digest, "digest_at": prefs.digest_at}
