"""The transactional outbox: approved replies waiting to be posted, and their deliveries.

States: pending -> enqueued -> sending -> posted, or failed (Fatal, visible to the curator),
parked (the source's token is failing), uncertain (a crash left us not knowing whether the
platform took the post, and the platform cannot tell us: a person decides, we never post twice).
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from otklik.models import Delivery, Reply
from storage.tables import OutboxRow, now

# A claimed send older than this is presumed dead (its worker was killed): the send itself
# times out well before (connectors use 35 s), so a live attempt never looks stale.
SENDING_LEASE = timedelta(seconds=float(os.environ.get("OTKLIK_SENDING_LEASE", "90")))
MAX_ATTEMPTS = 8
ACTIVE = ("pending", "enqueued", "sending")


def new_id() -> str:
    return uuid.uuid4().hex


def add(session: Session, *, case_id: int, draft_id: int, message_id: int, reply: Reply) -> OutboxRow:
    """Called inside the approval's transaction: the approval and the outbox row commit together."""
    row = OutboxRow(id=reply.id, case_id=case_id, draft_id=draft_id, message_id=message_id,
                    source=reply.source, reply=reply.model_dump(mode="json"), status="pending",
                    attempts=0, created_at=now())
    session.add(row)
    return row


def due_for_enqueue(session: Session, limit: int = 100) -> list[OutboxRow]:
    """Pending rows whose back-off has passed, plus sends whose lease expired (a dead worker)."""
    t = now()
    stmt = select(OutboxRow).where(or_(
        (OutboxRow.status == "pending") & or_(OutboxRow.not_before.is_(None), OutboxRow.not_before <= t),
        (OutboxRow.status == "sending") & (OutboxRow.sending_at < t - SENDING_LEASE),
    )).order_by(OutboxRow.created_at).limit(limit)
    return list(session.execute(stmt).scalars())


def enqueued_ids(session: Session, older_than: timedelta) -> list[str]:
    stmt = select(OutboxRow.id).where(OutboxRow.status == "enqueued",
                                      OutboxRow.enqueued_at < now() - older_than)
    return [r[0] for r in session.execute(stmt)]


def mark_enqueued(session: Session, outbox_id: str) -> None:
    session.execute(update(OutboxRow).where(OutboxRow.id == outbox_id, OutboxRow.status == "pending")
                    .values(status="enqueued", enqueued_at=now()))


def requeue(session: Session, outbox_id: str, *, error: str | None = None, delay: float = 0.0,
            count_attempt: bool = True) -> str:
    """Back to pending after a failed try; after MAX_ATTEMPTS counted tries, failed for good."""
    row = session.get(OutboxRow, outbox_id)
    if not count_attempt:
        row.attempts = max(0, row.attempts - 1)  # a rate limit is waited out, not spent
    row.last_error = error
    if row.attempts >= MAX_ATTEMPTS:
        row.status = "failed"
    else:
        row.status = "pending"
        row.not_before = now() + timedelta(seconds=delay)
    return row.status


def claim(session: Session, outbox_id: str) -> tuple[OutboxRow | None, bool]:
    """Take the row for one send attempt. Returns (row, resumed): `resumed` means an earlier
    attempt claimed it and died, so the platform may already have the post.
    Returns (None, False) when there is nothing to do (posted, failed, or another live attempt)."""
    row = session.get(OutboxRow, outbox_id, with_for_update=True)
    if row is None or row.status not in ACTIVE:
        return None, False
    t = now()
    resumed = row.status == "sending"
    if resumed and row.sending_at and row.sending_at > t - SENDING_LEASE:
        return None, False  # a live attempt holds it
    row.status, row.sending_at, row.attempts = "sending", t, row.attempts + 1
    return row, resumed


def record_delivery(session: Session, outbox_id: str, delivery: Delivery) -> OutboxRow:
    row = session.get(OutboxRow, outbox_id)
    row.status, row.external_id, row.url = "posted", delivery.external_id, delivery.url
    row.posted_at, row.last_error, row.not_before = delivery.posted_at, None, None
    return row


def set_status(session: Session, outbox_id: str, status: str, error: str | None = None) -> OutboxRow:
    row = session.get(OutboxRow, outbox_id)
    row.status, row.last_error = status, error
    return row


PARK_RECHECK = timedelta(minutes=5)


def park(session: Session, outbox_id: str, error: str) -> OutboxRow:
    """The source's token failed: keep the reply until a poll proves the token works again."""
    row = session.get(OutboxRow, outbox_id)
    row.status, row.last_error, row.not_before = "parked", error, now() + PARK_RECHECK
    return row


def unpark(session: Session, source: str) -> int:
    result = session.execute(update(OutboxRow).where(
        OutboxRow.source == source, OutboxRow.status == "parked",
        or_(OutboxRow.not_before.is_(None), OutboxRow.not_before <= now())).values(status="pending", not_before=None))
    return result.rowcount or 0


def retry(session: Session, outbox_id: str) -> OutboxRow:
    """A person asks to try again (failed, parked, or uncertain after checking the platform)."""
    row = session.get(OutboxRow, outbox_id)
    if row is None:
        from otklik.exceptions import NotFound

        raise NotFound(f"no delivery {outbox_id}")
    if row.status not in RETRYABLE:
        # A posted reply retried would be posted twice; a pending or sending one is on its way.
        from otklik.exceptions import InvalidTransition

        raise InvalidTransition(f"delivery {outbox_id} is {row.status}; only failed, parked or uncertain "
                                "ones are retried")
    row.status, row.attempts, row.not_before, row.sending_at = "pending", 0, None, None
    return row


RETRYABLE = ("failed", "parked", "uncertain")


# Where a private message to the author goes, per platform, when the public thread is gone
# (deleted post, closed comments): the curator redirects a failed delivery there.
PRIVATE_THREADS = {
    "telegram": lambda author_id: {"kind": "chat", "ids": {"chat_id": int(author_id)}},
    "vk": lambda author_id: {"kind": "message", "ids": {"peer_id": int(author_id)}},
}


def redirect_private(session: Session, outbox_id: str) -> OutboxRow:
    """Send a failed reply as a private message to the author instead; tried again at once."""
    from otklik.exceptions import InvalidTransition, NotFound
    from storage.tables import MessageRow

    row = session.get(OutboxRow, outbox_id)
    if row is None:
        raise NotFound(f"no delivery {outbox_id}")
    if row.status not in ("failed", "uncertain", "parked"):
        raise InvalidTransition(f"delivery {outbox_id} is {row.status}; only failed ones are redirected")
    msg = session.get(MessageRow, row.message_id)
    if row.reply.get("platform") != msg.platform:
        # Posted elsewhere than where the citizen wrote (by e-mail, or the network an incident was
        # found in): a private message in the citizen's network is not where this answer goes.
        raise InvalidTransition(f"delivery {outbox_id} goes by {row.reply.get('platform')}, not {msg.platform}; "
                                "correct its address instead (otklik cases reply-address)")
    make = PRIVATE_THREADS.get(msg.platform)
    if make is None or not str(msg.author_id).lstrip("-").isdigit():
        raise InvalidTransition(f"{msg.platform} has no private messages to this author")
    row.reply = {**row.reply, "thread": make(msg.author_id)}
    row.status, row.attempts, row.not_before, row.sending_at = "pending", 0, None, None
    return row


def listing(session: Session, statuses: tuple[str, ...] | None = None, limit: int = 200) -> list[OutboxRow]:
    stmt = select(OutboxRow).order_by(OutboxRow.created_at.desc()).limit(limit)
    if statuses:
        stmt = stmt.where(OutboxRow.status.in_(statuses))
    return list(session.execute(stmt).scalars())


def counts(session: Session) -> dict[str, int]:
    from sqlalchemy import func

    return dict(session.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status)).all())


def recent_latencies(session: Session, limit: int = 200) -> list[float]:
    rows = session.execute(select(OutboxRow.created_at, OutboxRow.posted_at).where(OutboxRow.posted_at.is_not(None))
                           .order_by(OutboxRow.posted_at.desc()).limit(limit))
    return [(p - c).total_seconds() for c, p in rows]


def reply_of(row: OutboxRow) -> Reply:
    return Reply.model_validate(row.reply)


def latency_seconds(row: OutboxRow) -> float | None:
    if row.posted_at is None:
        return None
    return (row.posted_at - row.created_at).total_seconds()


def as_dict(row: OutboxRow) -> dict:
    def iso(d: datetime | None) -> str | None:
        return d.isoformat() if d else None

    return {"id": row.id, "case_id": row.case_id, "source": row.source, "status": row.status,
            "attempts": row.attempts, "last_error": row.last_error, "created_at": iso(row.created_at),
            "posted_at": iso(row.posted_at), "external_id": row.external_id, "url": row.url,
            "text": row.reply.get("text", "")}
