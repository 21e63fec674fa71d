"""RQ job `send_notification`: one staff note on one channel, sent once (otklik.notify).

Like `publish_reply`, the job trusts only the id: it claims the row for one attempt, sends through
the channel registry, and records the outcome. A permanent refusal (a 5xx bounce, an unlinked chat)
is `failed`, visible in the person's list and to the admin; a transient one goes back to pending
with back-off until MAX_ATTEMPTS. The log names the note, never its address or text."""

from __future__ import annotations

import logging
import random

from otklik.notify import channels, store
from otklik.notify.channels.base import SendError
from storage.tables import UserRow
from workers.context import get_context

log = logging.getLogger("otklik.worker")


def _backoff(attempts: int) -> float:
    return min(600.0, 2.0 ** attempts) * random.uniform(0.5, 1.0)


def send_notification(note_id: int) -> str:
    ctx = get_context()
    with ctx.db.session() as s:
        row = store.claim(s, note_id)
        if row is None:
            return "nothing to do"
        ids = {"notification_id": note_id, "channel": row.channel, "kind": row.kind, "case_id": row.case_id}
        channel = channels.get(row.channel)
        user = s.get(UserRow, row.user_id)
        address = channel.address(s, user) if channel is not None and user is not None and user.active else None
        if address is None:
            why = "channel not available" if channel is None else "no address for this channel, or user inactive"
            store.fail(s, note_id, why)
            log.warning("note not sent", extra={"stage": "notify_failed", "error": why, **ids})
            return "failed"
        note = store.note_of(row)
    try:
        ctx.run(channel.send(ctx.settings, address, note))
    except SendError as exc:
        with ctx.db.session() as s:
            if exc.permanent:
                store.fail(s, note_id, str(exc))
                outcome = "failed"
            else:
                attempts = s.get(store.NotificationRow, note_id).attempts
                outcome = store.retry_later(s, note_id, str(exc), _backoff(attempts))
        log.warning("note not sent", extra={"stage": "notify_failed", "outcome": outcome, "error": str(exc), **ids})
        return outcome
    except Exception as exc:  # noqa: BLE001 - a channel's bug is retried, then visible as failed
        with ctx.db.session() as s:
            attempts = s.get(store.NotificationRow, note_id).attempts
            outcome = store.retry_later(s, note_id, type(exc).__name__, _backoff(attempts))
        log.warning("note not sent", extra={"stage": "notify_failed", "outcome": outcome,
                                            "error": type(exc).__name__, **ids})
        return outcome
    with ctx.db.session() as s:
        store.mark_sent(s, note_id)
    log.info("note sent", extra={"stage": "notify_sent", **ids})
    return "sent"
