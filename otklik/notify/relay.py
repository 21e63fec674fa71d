"""The notes' relay step: due `notifications` rows -> RQ jobs on the default queue, job id
`notify-<id>`, run by the outbox relay's tick (otklik.relay) so that one leased loop feeds Redis.
The database is the truth, as for replies: a job Redis lost is enqueued again; a claim whose
worker died (its lease expired) is enqueued again; a live job is never doubled."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from rq import Queue
from rq.job import JobStatus

from otklik.notify import store
from storage.db import Database
from workers import queue

log = logging.getLogger("otklik.notify")

JOB = "workers.notify_jobs.send_notification"
LIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}


def job_id(note_id: int) -> str:
    return f"notify-{note_id}"


def step(db: Database, conn, job_status: Callable[[Queue, str], JobStatus | None], lost_after: timedelta) -> int:
    """Enqueue the due notes; returns how many jobs were enqueued. Redis errors propagate to the
    caller (the outbox relay), which logs them once and tries again next tick."""
    q = Queue(queue.DEFAULT, connection=conn)
    with db.session() as s:
        due = store.due_for_enqueue(s)
        lost = store.enqueued_ids(s, lost_after)
    enqueued, waiting = 0, []
    for note_id, status in due:
        # A claim whose lease expired may still look "started" in Redis (its worker was killed):
        # only a job still waiting in the queue counts as live then.
        live = {JobStatus.QUEUED, JobStatus.SCHEDULED} if status == "sending" else LIVE
        if job_status(q, job_id(note_id)) not in live:
            q.enqueue(JOB, note_id, job_id=job_id(note_id), result_ttl=3600, failure_ttl=7 * 86400, job_timeout=120)
            enqueued += 1
            log.info("note enqueued", extra={"stage": "notify_enqueued", "notification_id": note_id, "was": status})
        if status in ("pending", "deferred"):
            waiting.append(note_id)
    gone = [note_id for note_id in lost if job_status(q, job_id(note_id)) not in LIVE]
    # One transaction for the tick's bookkeeping, not one per note (a digest morning writes hundreds).
    if waiting or gone:
        with db.session() as s:
            for note_id in waiting:
                store.mark_enqueued(s, note_id)
            for note_id in gone:
                store.back_to_pending(s, note_id)
    return enqueued
