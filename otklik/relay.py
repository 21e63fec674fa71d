"""The outbox relay: database -> RQ. One job per approved reply, job id = outbox id.

Redis may vanish at any moment; the outbox in the database is the truth, so the relay simply
tries again next tick. Rows whose job Redis lost (a restart without persistence) go back to
pending; rows parked by a failing token go back once the source polls fine again.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta

import redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from otklik.exceptions import QueueUnavailable
from otklik.notify import relay as notify_relay
from storage import outbox
from storage.db import Database
from storage.sources import all_states
from workers import queue

log = logging.getLogger("otklik.relay")

# An enqueued job that Redis no longer knows (restarted without its data) goes back to pending.
LOST_JOB_AFTER = timedelta(seconds=float(os.environ.get("OTKLIK_LOST_JOB_AFTER", "30")))
LIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}


class OutboxRelay:
    def __init__(self, db: Database, redis_url: str) -> None:
        self.db = db
        self.redis_url = redis_url
        self._conn: redis.Redis | None = None
        self.redis_ok = False

    def _queue(self) -> Queue:
        if self._conn is None:
            self._conn = queue.connect(self.redis_url)
        return Queue(queue.PUBLISH, connection=self._conn)

    def _job_status(self, q: Queue, job_id: str) -> JobStatus | None:
        try:
            return Job.fetch(job_id, connection=q.connection).get_status(refresh=False)
        except NoSuchJobError:
            return None

    def queue_depth(self) -> int | None:
        try:
            return self._queue().count if self.redis_ok else None
        except (redis.RedisError, OSError, QueueUnavailable):
            return None

    def step(self) -> int:
        """Enqueue what is due; return how many jobs were enqueued. Never raises for Redis."""
        try:
            q = self._queue()
            n = self._step(q)
            self.redis_ok = True
            return n
        except (redis.RedisError, OSError, QueueUnavailable) as exc:
            if self.redis_ok or self._conn is None:
                log.warning("Redis unavailable; approved replies wait in the outbox", extra={"error": str(exc)})
            self.redis_ok = False
            self._conn = None
            return 0

    def _step(self, q: Queue) -> int:
        enqueued = 0
        with self.db.session() as s:
            due = [(r.id, r.status) for r in outbox.due_for_enqueue(s)]
            lost = outbox.enqueued_ids(s, LOST_JOB_AFTER)
        for outbox_id, status in due:
            job_status = self._job_status(q, outbox_id)
            # A send whose lease expired was claimed by a worker that died: its job may still look
            # "started" in Redis, so only a job already waiting in the queue counts as live.
            live = {JobStatus.QUEUED, JobStatus.SCHEDULED} if status == "sending" else LIVE
            if job_status not in live:
                q.enqueue("workers.jobs.publish_reply", outbox_id, job_id=outbox_id,
                          result_ttl=3600, failure_ttl=7 * 86400, job_timeout=300)
                enqueued += 1
                log.info("reply enqueued", extra={"stage": "enqueued", "outbox_id": outbox_id, "was": status})
            if status == "pending":
                with self.db.session() as s:
                    outbox.mark_enqueued(s, outbox_id)
        for outbox_id in lost:
            if self._job_status(q, outbox_id) not in LIVE:
                with self.db.session() as s:
                    row = s.get(outbox.OutboxRow, outbox_id)
                    if row is not None and row.status == "enqueued":
                        row.status = "pending"
        for outbox_id in self._unmirrored():
            job_id = f"mirror-{outbox_id}"
            if self._job_status(q, job_id) not in LIVE:
                q.enqueue("workers.jobs.mirror_reply", outbox_id, job_id=job_id, result_ttl=600, failure_ttl=86400)
        self._unpark_healthy()
        # Staff notes ride the same tick (otklik.notify.relay): one leased loop feeds Redis.
        return enqueued + notify_relay.step(self.db, q.connection, self._job_status, LOST_JOB_AFTER)

    def _unmirrored(self) -> list[str]:
        """Posted replies whose regional platform has not been told yet (a failed mirror)."""
        from sqlalchemy import select

        # The reply's mirror_source is looked at by the database: loading every posted reply to
        # look at it in Python took the daemon's time twice a second at 100,000 cases.
        with self.db.session() as s:
            return list(s.execute(select(outbox.OutboxRow.id).where(
                outbox.OutboxRow.status == "posted", outbox.OutboxRow.mirrored.is_(False),
                outbox.OutboxRow.posted_at < outbox.now() - LOST_JOB_AFTER,
                outbox.OutboxRow.reply["mirror_source"].as_string() != "")).scalars())

    def _unpark_healthy(self) -> None:
        healthy = {name for name, st in all_states(self.db).items() if st["status"] == "ok"}
        if not healthy:
            return
        with self.db.session() as s:
            for row in outbox.listing(s, ("parked",)):
                if row.source in healthy:
                    outbox.unpark(s, row.source)
