"""Immediate reports: spikes of activity and socially significant messages for the head,
operator alerts (a token stopped working, a captcha), missed deadlines. Stored first, then sent
by the daemon's notifier, so none is lost when the chat or the webhook is down."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.tables import AlertRow, now

log = logging.getLogger("otklik.alerts")


def add(session: Session, kind: str, text: str, data: dict[str, Any], at: datetime | None = None) -> AlertRow:
    """THE way an alert is stored: the row (for the head's chat / webhook and the dashboard) and,
    in the same transaction, the personal notes of the people it concerns (otklik.notify)."""
    from otklik.notify import events

    row = AlertRow(at=at or now(), kind=kind, text=text, data=data)
    session.add(row)
    session.flush()  # its id is the notes' event key
    events.alert(session, row)
    return row


def store(session: Session, alert: Any) -> AlertRow:
    """Store an alert object from router.spikes (pydantic, with `kind` and a text)."""
    data = alert.model_dump(mode="json") if hasattr(alert, "model_dump") else dict(alert)
    text = getattr(alert, "text", None) or data.get("text") or data.get("summary") or str(data)
    return add(session, data.get("kind", "spike"), text, data)


def raise_operator_alert(db, kind: str, source: str, text: str) -> None:
    with db.session() as s:
        add(s, kind, f"source {source}: {text}", {"source": source})
    log.warning("operator alert", extra={"kind": kind, "source": source})


def unsent(session: Session, limit: int = 50) -> list[AlertRow]:
    stmt = select(AlertRow).where(AlertRow.sent_at.is_(None)).order_by(AlertRow.id).limit(limit)
    return list(session.execute(stmt).scalars())


def recent(session: Session, limit: int = 100) -> list[dict]:
    stmt = select(AlertRow).order_by(AlertRow.id.desc()).limit(limit)
    return [{"id": r.id, "at": r.at.isoformat(), "kind": r.kind, "text": r.text, "data": r.data,
             "sent": r.sent_at is not None} for r in session.execute(stmt).scalars()]
