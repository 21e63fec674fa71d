"""Per-source health, for /healthz and for pausing a source whose token stopped working."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage.tables import SourceStateRow, now


def _row(session, source: str) -> SourceStateRow:
    row = session.get(SourceStateRow, source)
    if row is None:
        row = SourceStateRow(source=source, status="ok", alerted=False)
        session.add(row)
    return row


def record_success(db, source: str) -> None:
    with db.session() as s:
        row = _row(s, source)
        row.status, row.last_error, row.paused_until, row.alerted = "ok", None, None, False
        row.last_poll_at = row.last_success_at = now()


def record_failure(db, source: str, status: str, error: str, *, pause: timedelta | None = None) -> bool:
    """Store the failure; return True the first time this status is seen (alert once)."""
    with db.session() as s:
        row = _row(s, source)
        first = not (row.status == status and row.alerted)
        row.status, row.last_error, row.last_poll_at = status, error[:2000], now()
        row.paused_until = now() + pause if pause else None
        row.alerted = True
        return first


def all_states(db) -> dict[str, dict]:
    with db.session() as s:
        rows = s.execute(select(SourceStateRow)).scalars()
        return {r.source: {"status": r.status, "last_error": r.last_error,
                           "last_poll_at": r.last_poll_at.isoformat() if r.last_poll_at else None,
                           "last_success_at": r.last_success_at.isoformat() if r.last_success_at else None,
                           "paused_until": r.paused_until.isoformat() if r.paused_until else None}
                for r in rows}
