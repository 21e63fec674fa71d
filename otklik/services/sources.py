"""The sources and their health for the admin's page: every configured source (and any the
database knows that the settings no longer list), its poller health as /healthz reports it, and
its quarantine counts (open items, and items set aside in the last hour). No payloads here: the
quarantined items themselves are listed by storage.quarantine for the operators."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from otklik.actor import Actor
from otklik.services import access
from storage import quarantine
from storage.sources import QUARANTINE_WINDOW, state_of
from storage.tables import QuarantineRow, SourceStateRow, now


def health(session: Session, actor: Actor, configured: list[Any] | None = None) -> list[dict[str, Any]]:
    """One row per source, the troubled ones first. `configured`: the settings' sources (name,
    platform, enabled); the settings of the running process by default."""
    access.require(session, actor, "read_sources", entity="sources")
    if configured is None:
        from otklik.settings import get_settings

        configured = list(get_settings().sources)
    states = {r.source: r for r in session.execute(select(SourceStateRow)).scalars()}
    recent = quarantine.recent_by_source(session, now() - QUARANTINE_WINDOW)
    open_items = dict(session.execute(
        select(QuarantineRow.source, func.count(QuarantineRow.id)).where(QuarantineRow.resolved_at.is_(None))
        .group_by(QuarantineRow.source)).all())
    return summarize(configured, states, recent, open_items)


def summarize(configured: list[Any], states: dict[str, SourceStateRow],
              recent: dict[str, tuple[int, str | None]], open_items: dict[str, int]) -> list[dict[str, Any]]:
    """Pure: merge settings, stored poller health and quarantine counts into the page's rows."""
    rows: dict[str, dict[str, Any]] = {}
    for src in configured:
        rows[src.name] = {"source": src.name, "platform": str(src.platform), "enabled": bool(src.enabled),
                          "configured": True}
    for name in {*states, *recent, *open_items} - set(rows):
        rows[name] = {"source": name, "platform": None, "enabled": False, "configured": False}
    for name, row in rows.items():
        n, reason = recent.get(name, (0, None))
        if name in states:
            row.update(state_of(states[name], n, reason))
        else:
            row.update({"status": "degraded" if n else ("unknown" if row["enabled"] else "disabled"),
                        "last_error": None, "last_poll_at": None, "last_success_at": None, "paused_until": None,
                        "consecutive_failures": 0, "failing_since": None, "quarantined": n,
                        **({"last_reason": reason} if n else {})})
        row["quarantine_open"] = open_items.get(name, 0)
    order = {"stalled": 0, "auth_failed": 1, "failing": 2, "degraded": 3, "rate_limited": 4}
    return sorted(rows.values(), key=lambda r: (order.get(r["status"], 9), r["source"]))
