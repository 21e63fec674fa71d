"""What /healthz reports beyond "the database answers a SELECT": whether it takes writes, and whether
the publish queue is being worked.

The write probe updates a heartbeat row (in `cursors`, under a key no source can have) and commits:
a read-only database (a PostgreSQL standby, `default_transaction_read_only`, a read-only file), a
full disk or a lock held too long all fail it. On SQLite it also checks that the file can still
grow, inserting 64 KiB in a transaction it rolls back: an in-place update of one row succeeds on a
full disk (or past `max_page_count`), new messages would not.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError

from storage.db import Database
from storage.tables import CursorRow

HEARTBEAT_KEY = "#daemon-heartbeat"  # '#' is not allowed in a source name: no cursor collides
HEADROOM_KEY = "#write-headroom"
HEADROOM_BYTES = 64 * 1024
# The oldest job of the publish queue waiting longer than this, with no worker heartbeat as recent,
# means nobody works the queue: /healthz fails. Workers beat at least every 45 s (OtklikWorker).
QUEUE_LAG_LIMIT = float(os.environ.get("OTKLIK_QUEUE_LAG_LIMIT", "120"))


@dataclass
class WriteState:
    state: str = "unknown"  # ok | read_only | unwritable | unknown (not probed yet)
    error: str | None = None
    checked_at: datetime | None = None

    @property
    def writable(self) -> bool:
        return self.state == "ok"


def _upsert(session, key: str, value: str):
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(CursorRow).values(source=key, cursor=value, updated_at=datetime.now(UTC))
    return session.execute(stmt.on_conflict_do_update(index_elements=[CursorRow.source],
                                                      set_={"cursor": value, "updated_at": stmt.excluded.updated_at}))


def probe_write(db: Database) -> WriteState:
    """Write and commit the heartbeat row; classify what stops it. Never raises."""
    at = datetime.now(UTC)
    try:
        with db.session() as s:
            _upsert(s, HEARTBEAT_KEY, f"{at.isoformat()} {socket.gethostname()} {os.getpid()}")
        if db.engine.dialect.name == "sqlite":
            # A transaction of its own, always rolled back: SQLITE_FULL may end the whole
            # transaction, savepoints included.
            with db.session() as s:
                _upsert(s, HEADROOM_KEY, os.urandom(HEADROOM_BYTES // 2).hex())
                s.rollback()
        return WriteState("ok", None, at)
    except DBAPIError as exc:
        return WriteState(*classify(exc), at)
    except Exception as exc:  # noqa: BLE001 - any failure to write is what we report
        return WriteState("unwritable", type(exc).__name__, at)


def classify(exc: DBAPIError) -> tuple[str, str]:
    """(state, one line): read_only for a database that refuses writes by design, else unwritable."""
    orig = exc.orig
    detail = (str(orig).strip().splitlines() or [type(orig).__name__])[0][:200]
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate == "25006" or "readonly database" in detail or "read-only" in detail:
        return "read_only", detail
    return "unwritable", detail


@dataclass
class QueueState:
    state: str = "unknown"  # ok | stalled | unknown (Redis unavailable)
    waiting: int | None = None
    lag_seconds: float | None = None  # age of the oldest job waiting in the publish queue
    workers: list[dict] = field(default_factory=list)
    last_heartbeat_age: float | None = None  # seconds since the freshest worker heartbeat

    @property
    def alive(self) -> int:
        return len(self.workers)


def queue_state(conn, now: datetime | None = None, lag_limit: float = QUEUE_LAG_LIMIT) -> QueueState:
    """The publish queue and the RQ workers registered in this Redis. Raises on Redis errors."""
    from rq import Queue, Worker
    from rq.job import Job

    from workers.queue import PUBLISH

    now = now or datetime.now(UTC)
    workers, ages = [], []
    for w in Worker.all(connection=conn):
        beat = w.last_heartbeat.replace(tzinfo=UTC) if w.last_heartbeat else None
        if beat:
            ages.append((now - beat).total_seconds())
        state = w.get_state()
        workers.append({"name": w.name, "last_heartbeat": beat.isoformat() if beat else None,
                        "state": getattr(state, "value", state)})  # "idle", "busy", ...
    q = Queue(PUBLISH, connection=conn)
    waiting = q.count
    lag = 0.0
    oldest_ids = q.get_job_ids(0, 1)
    if oldest_ids:
        job = Job.fetch(oldest_ids[0], connection=conn) if conn.exists(Job.key_for(oldest_ids[0])) else None
        if job is not None and job.enqueued_at:
            lag = max(0.0, (now - job.enqueued_at.replace(tzinfo=UTC)).total_seconds())
    freshest = min(ages) if ages else None
    stalled = waiting > 0 and lag > lag_limit and (freshest is None or freshest > lag_limit)
    return QueueState("stalled" if stalled else "ok", waiting, round(lag, 1), workers,
                      round(freshest, 1) if freshest is not None else None)


def overall(db_reachable: bool, write: WriteState, queue: QueueState, redis_ok: bool,
            sources: dict[str, dict]) -> tuple[str, int]:
    """(status, HTTP code). Failing (503): the database cannot be read or written, or the publish
    queue is not worked. Degraded (200): Redis away (replies wait in the outbox), a source failing,
    degraded or stalled."""
    if not db_reachable or write.state in ("read_only", "unwritable") or queue.state == "stalled":
        return "failing", 503
    sources_ok = all(s.get("status") in ("ok", "starting", "rate_limited") for s in sources.values())
    if not redis_ok or not sources_ok:
        return "degraded", 200
    return "ok", 200
