"""Quarantine: items set aside so one bad item never blocks the others.

An item lands here from ingest (a platform item the parser rejected, or a message or status change
no store would take), from the pipeline (a message whose moderation, routing or case update kept
raising) or from applying a platform event. The rest of the batch and the cursor go on; a person
looks at the item (`otklik quarantine`, `/api/quarantine`) and retries it once the cause is fixed.

Reasons name error classes and our own fixed sentences, never message text or author data: they
are shown in /healthz and may end up in logs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from otklik import metrics
from otklik.actor import Actor
from otklik.exceptions import InvalidTransition, NotFound, PermissionDenied, StorageUnavailable
from otklik.sanitize import clean_json, clean_text, clip
from storage import audit
from storage.tables import MessageRow, PlatformEventRow, QuarantineRow, now

STAGES = ("ingest", "pipeline", "event")
OPERATOR_ROLES = ("curator", "admin")


def is_database_fault(exc: BaseException) -> bool:
    """The database itself failing (connection lost, locked, disk full, a missing table or
    privilege): not the item's fault, and the next item would fail alike. Such an error fails the
    whole batch or pass, which is retried; it never quarantines an item. The item's own faults are
    the database refusing its values (IntegrityError, DataError) and any error raised before the
    statement reached the database."""
    return isinstance(exc, DBAPIError) and not isinstance(exc, IntegrityError | DataError)


class Unstorable(ValueError):
    """An item we refuse to store as it is (e.g. an id longer than its column). The message is
    ours and holds no data from the item, so it may be shown as the reason."""


def unavailable(exc: BaseException) -> StorageUnavailable:
    """A database fault re-raised without its text: SQLAlchemy's message quotes the
    statement's parameters (message texts, author names), and the daemon logs tracebacks."""
    return StorageUnavailable(f"database error: {reason_of(exc)}")


def reason_of(exc: BaseException) -> str:
    """The error class (and the driver's class and SQLSTATE for database errors): enough to tell
    causes apart, nothing of the item's content (driver messages quote the values)."""
    if isinstance(exc, Unstorable):
        return f"Unstorable: {str(exc)[:300]}"
    reason = type(exc).__name__
    orig = getattr(exc, "orig", None)
    if orig is not None:
        reason += f" ({type(orig).__name__}"
        code = getattr(orig, "sqlstate", None)
        reason += f", SQLSTATE {code})" if code else ")"
    return reason


def require_operator(actor: Actor) -> None:
    """Quarantined items hold raw payloads with personal data: curators and admins only."""
    if actor.role not in OPERATOR_ROLES:
        raise PermissionDenied(f"role {actor.role} may not see the quarantine")


def add(session: Session, *, source: str, stage: str, reason: str, raw: Any, platform: str | None = None,
        external_id: str | None = None) -> QuarantineRow:
    """Store one item; its payload is sanitised first. Must not fail for the payload's sake: if even
    the sanitised payload is refused, the item is kept without it (the reason says so)."""
    values = dict(source=clip(source, 100) or "", stage=stage, platform=clip(platform, 40),
                  external_id=clip(external_id, 200), reason=clip(reason, 500) or "unknown", created_at=now(),
                  attempts=1)
    if values["external_id"] is not None:
        # The same item delivered again (a webhook retried, a feed listing a changed item anew):
        # one open entry, with the latest payload and reason, not one per delivery.
        open_item = session.execute(select(QuarantineRow).where(
            QuarantineRow.source == values["source"], QuarantineRow.stage == stage,
            QuarantineRow.external_id == values["external_id"], QuarantineRow.resolved_at.is_(None))
            .order_by(QuarantineRow.id.desc()).limit(1)).scalar_one_or_none()
        if open_item is not None:
            try:
                with session.begin_nested():
                    open_item.raw = clean_json(raw if isinstance(raw, dict) else {"value": raw})
                    open_item.reason = values["reason"]
                    session.flush()
            except Exception as exc:
                if is_database_fault(exc):
                    raise unavailable(exc) from None
            return open_item
    try:
        with session.begin_nested():
            row = QuarantineRow(raw=clean_json(raw if isinstance(raw, dict) else {"value": raw}), **values)
            session.add(row)
            session.flush()
    except Exception as exc:
        if is_database_fault(exc):
            raise unavailable(exc) from None
        values["reason"] = clip(f"{values['reason']}; payload not storable: {reason_of(exc)}", 500)
        with session.begin_nested():
            row = QuarantineRow(raw={"unstorable": True}, **values)
            session.add(row)
            session.flush()
    metrics.quarantined.labels(values["source"], stage).inc()
    return row


def listing(session: Session, actor: Actor, *, source: str | None = None, include_resolved: bool = False,
            limit: int = 500) -> list[QuarantineRow]:
    require_operator(actor)
    stmt = select(QuarantineRow).order_by(QuarantineRow.id.desc()).limit(limit)
    if source:  # cleaned: a NUL in a query parameter is an error on PostgreSQL, not "no match"
        stmt = stmt.where(QuarantineRow.source == clean_text(source))
    if not include_resolved:
        stmt = stmt.where(QuarantineRow.resolved_at.is_(None))
    return list(session.execute(stmt).scalars())


def get(session: Session, actor: Actor, item_id: int) -> QuarantineRow:
    require_operator(actor)
    row = session.get(QuarantineRow, item_id)
    if row is None:
        raise NotFound(f"quarantine item {item_id} not found")
    return row


def as_dict(row: QuarantineRow, *, with_raw: bool = False) -> dict:
    out = {"id": row.id, "source": row.source, "platform": row.platform, "stage": row.stage,
           "external_id": row.external_id, "reason": row.reason, "attempts": row.attempts,
           "created_at": row.created_at.isoformat(),
           "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None,
           "resolved_by": row.resolved_by}
    if with_raw:
        out["raw"] = row.raw
    return out


def resolve(session: Session, row: QuarantineRow, by: str) -> None:
    row.resolved_at, row.resolved_by = now(), by[:100]


def retry(session: Session, actor: Actor, item_id: int) -> str:
    """Take a quarantined item again; returns what was done (in English, for logs and the API).

    ingest + normalized message or status change: stored again (its own savepoint); on failure the
    item stays open with attempts + 1 and the new reason. pipeline / event: attempts reset so the
    pipeline takes the message or event again on its next pass (if it fails 3 more times, a new item
    is quarantined). A raw platform item the parser rejected is not re-parsed here: it needs the
    parser fixed first, and the source's next poll will not see it again, so retry says so.
    """
    from storage import messages as message_store  # messages imports this module

    row = get(session, actor, item_id)
    if row.resolved_at is not None:
        raise InvalidTransition(f"quarantine item {item_id} is already resolved")
    outcome: str
    if row.stage == "pipeline":
        msg = session.get(MessageRow, (row.raw or {}).get("message_id"))
        if msg is None:
            raise NotFound(f"message of quarantine item {item_id} no longer exists")
        msg.pipeline_attempts, msg.pipeline_error, msg.processed = 0, None, False
        outcome = "requeued for the pipeline"
    elif row.stage == "event":
        ev = session.get(PlatformEventRow, (row.raw or {}).get("event_id"))
        if ev is None:
            raise NotFound(f"event of quarantine item {item_id} no longer exists")
        ev.attempts, ev.error, ev.processed = 0, None, False
        outcome = "requeued for the pipeline"
    elif "message" in row.raw or "status_change" in row.raw:
        error = message_store.store_again(session, row.source, row.raw)
        if error is not None:
            row.attempts += 1
            row.reason = clip(error, 500) or row.reason
            audit.append(session, actor=actor.login, action="quarantine_retry_failed", entity="quarantine",
                         entity_id=row.id, data={"reason": row.reason})
            return f"stored again failed: {row.reason}"
        outcome = "stored"
    else:
        raise InvalidTransition(f"quarantine item {item_id} is a raw platform item the parser rejected; "
                                "it cannot be retried until the parser reads it")
    resolve(session, row, actor.login)
    audit.append(session, actor=actor.login, action="quarantine_retry", entity="quarantine", entity_id=row.id,
                 data={"stage": row.stage, "outcome": outcome})
    return outcome


def recent_by_source(session: Session, since: datetime) -> dict[str, tuple[int, str | None]]:
    """Per source: items quarantined since `since` (resolved or not) and the latest one's reason."""
    rows = session.execute(
        select(QuarantineRow.source, func.count(QuarantineRow.id), func.max(QuarantineRow.id))
        .where(QuarantineRow.created_at >= since).group_by(QuarantineRow.source)).all()
    if not rows:
        return {}
    reasons = dict(session.execute(select(QuarantineRow.id, QuarantineRow.reason)
                                   .where(QuarantineRow.id.in_([r[2] for r in rows]))).all())
    return {source: (n, reasons.get(last)) for source, n, last in rows}
