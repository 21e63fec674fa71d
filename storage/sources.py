"""Per-source health, for /healthz and for pausing a source whose token stopped working.

The stored status is what the last poll said (ok, auth_failed, rate_limited, failing, ...);
`all_states` adds what the last poll alone does not show: `degraded` when the source set items
aside in the quarantine within the last hour, `stalled` when polls keep failing for long.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage import quarantine
from storage.tables import SourceStateRow, now

QUARANTINE_WINDOW = timedelta(hours=1)
STALL_FAILURES = 3  # consecutive failed polls ...
STALL_AFTER = timedelta(seconds=60)  # ... over at least this long (a few poll intervals and back-offs)
# Statuses a failure run does not turn into `stalled`: they say more (a paused token) or are
# the platform asking us to wait.
_KEEP = ("auth_failed", "rate_limited")


def _row(session, source: str) -> SourceStateRow:
    row = session.get(SourceStateRow, source)
    if row is None:
        row = SourceStateRow(source=source, status="ok", alerted=False, failures=0)
        session.add(row)
    return row


def record_success(db, source: str) -> None:
    with db.session() as s:
        row = _row(s, source)
        row.status, row.last_error, row.paused_until, row.alerted = "ok", None, None, False
        row.failures, row.failing_since = 0, None
        row.last_poll_at = row.last_success_at = now()


def record_failure(db, source: str, status: str, error: str, *, pause: timedelta | None = None) -> bool:
    """Store the failure; return True the first time this status is seen (alert once)."""
    with db.session() as s:
        row = _row(s, source)
        first = not (row.status == status and row.alerted)
        row.status, row.last_error, row.last_poll_at = status, error[:2000], now()
        row.paused_until = now() + pause if pause else None
        row.alerted = True
        if status != "rate_limited":  # waiting out a limit is not a failure to make progress
            row.failures = (row.failures or 0) + 1
            row.failing_since = row.failing_since or row.last_poll_at
        return first


def state_of(row: SourceStateRow, quarantined: int, last_reason: str | None, *,
             stall_after: timedelta = STALL_AFTER) -> dict:
    """One source's health as /healthz shows it (pure: the row and the quarantine counts in)."""
    status = row.status
    t = now()
    if (status not in _KEEP and (row.failures or 0) >= STALL_FAILURES and row.failing_since is not None
            and t - row.failing_since >= stall_after):
        status = "stalled"
    elif status == "ok" and quarantined:
        status = "degraded"
    out = {"status": status, "last_error": row.last_error,
           "last_poll_at": row.last_poll_at.isoformat() if row.last_poll_at else None,
           "last_success_at": row.last_success_at.isoformat() if row.last_success_at else None,
           "paused_until": row.paused_until.isoformat() if row.paused_until else None,
           "consecutive_failures": row.failures or 0,
           "failing_since": row.failing_since.isoformat() if row.failing_since else None,
           "quarantined": quarantined}
    if quarantined:
        out["last_reason"] = last_reason
    return out


def all_states(db, *, stall_after: timedelta = STALL_AFTER) -> dict[str, dict]:
    with db.session() as s:
        rows = list(s.execute(select(SourceStateRow)).scalars())
        recent = quarantine.recent_by_source(s, now() - QUARANTINE_WINDOW)
    states = {r.source: state_of(r, *recent.get(r.source, (0, None)), stall_after=stall_after) for r in rows}
    for source, (n, reason) in recent.items():  # quarantined by a webhook before any poll
        if source not in states:
            states[source] = {"status": "degraded", "quarantined": n, "last_reason": reason}
    return states
