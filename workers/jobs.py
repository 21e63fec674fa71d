"""RQ jobs. `publish_reply` posts one approved reply exactly once (in effect) and records it.

The job trusts nothing it was given but the outbox id: it re-reads the row, claims it for one
attempt, and decides from the platform's guarantees what a resumed attempt may do:
- idempotent send (VK random_id / guid): send again, the platform returns the first post;
- read-back (OK, regional platforms): look for our post before sending;
- neither (Telegram): park as `uncertain` for a person; posting twice is worse than waiting.
"""

from __future__ import annotations

import asyncio
import logging
import random

from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from connectors.base import Connector
from connectors.errors import AuthFailed, ConnectorError, Fatal, RateLimited, Transient
from otklik.models import Delivery, Reply
from otklik.services import cases, extensions
from storage import audit, outbox
from workers.context import get_context

log = logging.getLogger("otklik.worker")

RATE_LIMIT_INLINE_WAIT = 30.0  # wait out short limits inside the job; longer ones go back to the outbox


@retry(retry=retry_if_exception_type(Transient), stop=stop_after_attempt(3),
       wait=wait_random_exponential(multiplier=0.2, max=5), reraise=True)
async def _send(connector: Connector, reply: Reply) -> Delivery:
    for _ in range(5):
        try:
            return await connector.send(reply)
        except RateLimited as exc:  # waited out without spending an attempt
            if exc.retry_after > RATE_LIMIT_INLINE_WAIT:
                raise
            await asyncio.sleep(exc.retry_after + random.uniform(0, 0.2))
    return await connector.send(reply)


async def _deliver(connector: Connector, reply: Reply, resumed: bool) -> Delivery | str:
    if reply.kind == extensions.KIND:
        # Not a post: the platform dedupes the request by its idempotency key (our outbox id), so a
        # resumed attempt simply asks again and gets the first request back.
        return await extensions.send(connector, reply)
    if resumed:
        found = await connector.find_posted(reply)
        if found is not None:
            return found.model_copy(update={"already_posted": True})
        if not (connector.send_is_idempotent or connector.can_read_back):
            return "uncertain"
    return await _send(connector, reply)


def publish_reply(outbox_id: str) -> str:
    ctx = get_context()
    with ctx.db.session() as s:
        row, resumed = outbox.claim(s, outbox_id)
        if row is None:
            return "nothing to do"
        if not cases.is_approved_for_publishing(s, row):
            # Defence in depth: an outbox row is only written by approval, but never post
            # something whose case is not approved.
            outbox.set_status(s, outbox_id, "failed", "case is not approved")
            return "refused"
        reply = outbox.reply_of(row)
        source = row.source
        ids = {"outbox_id": outbox_id, "case_id": row.case_id, "message_id": row.message_id, "source": source}
    outcome = _publish(ctx, outbox_id, source, reply, resumed)
    if outcome == "posted":
        log.info("reply posted", extra={"stage": "posted", **ids})
    elif outcome in ("failed", "parked", "uncertain"):
        log.warning("reply not posted", extra={"stage": "failed", "outcome": outcome, **ids})
    else:  # back to the outbox for a later attempt
        log.info("reply delivery deferred", extra={"stage": "deferred", "outcome": outcome, **ids})
    return outcome


def _publish(ctx, outbox_id: str, source: str, reply: Reply, resumed: bool) -> str:
    """One attempt; returns its outcome (posted, parked, failed, uncertain, or requeue's word)."""
    try:
        result = ctx.run(_deliver(ctx.connector(source), reply, resumed))
    except RateLimited as exc:
        with ctx.db.session() as s:
            return outbox.requeue(s, outbox_id, error=str(exc), delay=exc.retry_after, count_attempt=False)
    except AuthFailed as exc:
        with ctx.db.session() as s:
            outbox.park(s, outbox_id, f"authentication failed: {exc}")
            audit.append(s, actor="worker", action="delivery_parked", entity="outbox", entity_id=outbox_id,
                         data={"error": exc.kind, "code": exc.code})
        return "parked"
    except Fatal as exc:
        with ctx.db.session() as s:
            outbox.set_status(s, outbox_id, "failed", str(exc))
            audit.append(s, actor="worker", action="delivery_failed", entity="outbox", entity_id=outbox_id,
                         data={"error": exc.kind, "code": exc.code})
        return "failed"
    except Transient as exc:
        with ctx.db.session() as s:
            row = s.get(outbox.OutboxRow, outbox_id)
            delay = min(600.0, 2 ** row.attempts) * random.uniform(0.5, 1.0)
            return outbox.requeue(s, outbox_id, error=str(exc), delay=delay)
    if result == "uncertain":
        with ctx.db.session() as s:
            outbox.set_status(s, outbox_id, "uncertain",
                              "an earlier attempt died mid-send and the platform cannot be asked whether "
                              "it posted; check the thread, then retry or mark posted")
        return "uncertain"
    with ctx.db.session() as s:
        row = outbox.record_delivery(s, outbox_id, result)
        cases.record_published(s, row, result)
        audit.append(s, actor="worker", action="extension_requested" if reply.kind == extensions.KIND
                     else "reply_posted", entity="outbox", entity_id=outbox_id,
                     data={"external_id": result.external_id, "url": result.url,
                           "already_posted": result.already_posted})
    if reply.mirror_source:
        mirror_reply(outbox_id)
    return "posted"


def mirror_reply(outbox_id: str) -> str:
    """Tell the regional platform the answer is published (with its link). Safe to repeat; a
    failure leaves `mirrored` false and the relay tries again."""
    ctx = get_context()
    with ctx.db.session() as s:
        row = s.get(outbox.OutboxRow, outbox_id)
        if row is None or row.status != "posted" or row.mirrored:
            return "nothing to do"
        reply = outbox.reply_of(row)
        delivery = Delivery(reply_id=row.id, external_id=row.external_id, url=row.url, posted_at=row.posted_at)
    if not reply.mirror_source:
        return "nothing to do"
    try:
        ctx.run(ctx.connector(reply.mirror_source).mirror(reply.mirror_external_id, reply, delivery))
    except ConnectorError as exc:
        log.warning("mirror failed; will retry", extra={"outbox": outbox_id, "error": exc.kind})
        return "retry"
    with ctx.db.session() as s:
        s.get(outbox.OutboxRow, outbox_id).mirrored = True
        audit.append(s, actor="worker", action="reply_mirrored", entity="outbox", entity_id=outbox_id,
                     data={"to": reply.mirror_source, "external_id": reply.mirror_external_id})
    return "mirrored"
