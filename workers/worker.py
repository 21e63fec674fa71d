"""The RQ worker class `otklik worker` runs: SimpleWorker (jobs run in the worker process, no fork
per job) that logs each job's outcome, beats often enough for /healthz, and remembers that it was
asked to stop.

The memory matters when Redis is away: RQ answers SIGTERM by leaving its work loop and then tries
to record its death in Redis, which fails with a ConnectionError. Without the flag, `otklik worker`
would take that for "Redis went away", wait for it and never exit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal

from rq import SimpleWorker

log = logging.getLogger("otklik.worker")


class OtklikWorker(SimpleWorker):
    stop_requested = False  # set by the first SIGTERM/SIGINT, seen by the CLI's retry loop

    def __init__(self, *args, **kwargs) -> None:
        # RQ's default (420 s) has an idle worker beat every 405 s and a killed one linger for 8
        # minutes; /healthz judges the publish queue by these beats: every 45 s, gone in 2 minutes.
        kwargs.setdefault("worker_ttl", 60)
        super().__init__(*args, **kwargs)

    def request_stop(self, signum, frame):
        OtklikWorker.stop_requested = True
        super().request_stop(signum, frame)

    def request_force_stop(self, signum, frame):
        OtklikWorker.stop_requested = True
        super().request_force_stop(signum, frame)

    def stop_scheduler(self) -> None:
        """RQ's own waits for the scheduler child without a limit; a child that got the stop
        signal before installing its handlers may never come: wait 5 s, then kill it."""
        process = getattr(self.scheduler, "_process", None)
        if process is None or not process.pid:
            return
        with contextlib.suppress(OSError):
            os.kill(process.pid, signal.SIGTERM)
        process.join(5)
        if process.is_alive():
            process.kill()
            process.join(1)

    def unsubscribe(self) -> None:
        """RQ's own waits for its pubsub thread with no limit, and redis-py 8's stop() joins until
        the thread's read (up to 60 s) returns: a worker told to stop hung there. Bounded to a
        second here; the thread is a daemon and goes with the process."""
        thread = getattr(self, "pubsub_thread", None)
        if not thread:
            return
        with contextlib.suppress(Exception):
            self.pubsub.unsubscribe()
        try:
            thread.stop(timeout=1)
        except TypeError:  # redis-py before 8: stop() takes no time-out and does not wait
            thread.stop()
        thread.join(timeout=1)
        with contextlib.suppress(Exception):
            self.pubsub.close()

    def perform_job(self, job, queue, *args, **kwargs) -> bool:
        ok = super().perform_job(job, queue, *args, **kwargs)
        result = getattr(job, "_result", None)
        # Our jobs return one short word ("posted", "parked", "failed", ...); anything else is
        # not logged, so no text of a reply can reach the log.
        outcome = result if ok and isinstance(result, str) and len(result) <= 40 else ("ok" if ok else "error")
        try:
            function = job.func_name.rsplit(".", 1)[-1]
        except Exception:  # noqa: BLE001 - an undecodable job still gets its line
            function = "?"
        log.info("job done", extra={"job": job.id, "queue": queue.name, "function": function, "outcome": outcome})
        return ok
