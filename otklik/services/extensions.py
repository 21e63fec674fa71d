"""An executor's extension request sent to the platform that decides it (000 прил. 2 §2.5: the
«Камчатка в порядке» coordinator grants or refuses it on the platform), exactly once.

The request travels like an approved reply: a draft row of kind `extension_request` (the comment,
decided by the one who asked) and an outbox row written in the request's own transaction; the
relay enqueues it and the `publish_reply` job calls the connector's `request_extension` with the
outbox id as the platform's idempotency key, so a retried or resumed job cannot ask twice. The
platform's decision comes back as a status change (extension_granted / extension_denied).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from connectors.registry import connector_class
from otklik.models import Delivery, Reply, Thread
from storage import outbox
from storage.tables import CaseRow, DraftRow, MessageRow, OutboxRow, now

KIND = "extension_request"


def platform_decides(platform: str) -> bool:
    """Whether extensions on this platform are asked of the platform (its connector can)."""
    try:
        return hasattr(connector_class(platform), "request_extension")
    except Exception:  # noqa: BLE001 - an unknown platform decides nothing
        return False


def queue_request(session: Session, row: CaseRow, *, days: int, comment: str, by: str) -> OutboxRow | None:
    """In the request's transaction: the outbox row that asks the platform, if it is the one that decides."""
    msg = session.get(MessageRow, row.message_id)
    if msg is None or not platform_decides(msg.platform):
        return None
    t = now()
    draft = DraftRow(case_id=row.id, kind=KIND, text=comment, author=by, status="approved", quality=[],
                     created_at=t, decided_at=t, decided_by=by)
    session.add(draft)
    session.flush()
    reply = Reply(id=outbox.new_id(), source=msg.source, platform=msg.platform,
                  thread=Thread.model_validate(msg.thread), in_reply_to=msg.external_id, text=comment,
                  kind=KIND, extension_days=int(days))
    return outbox.add(session, case_id=row.id, draft_id=draft.id, message_id=msg.id, reply=reply)


def is_pending(row: CaseRow) -> bool:
    """Defence in depth for the worker: ask only while the case's request still waits."""
    ext = (row.record or {}).get("extension") or {}
    return row.state not in ("accepted", "closed") and bool(ext) and ext.get("granted") is None


async def send(connector, reply: Reply) -> Delivery:
    """Ask the platform; its idempotency key is our outbox id, so asking again returns the first request."""
    answer = await connector.request_extension(reply.in_reply_to or "", int(reply.extension_days or 0), reply.text,
                                               key=reply.id)
    ext_id = answer.get("id") if isinstance(answer, dict) else None
    return Delivery(reply_id=reply.id, external_id=str(ext_id or reply.in_reply_to), url=None,
                    posted_at=datetime.now(UTC))
