"""Leases: which daemon runs a job that must run in one place at a time, when several daemons
share one PostgreSQL (an active one and standbys).

A lease is a row (name, holder, expires_at). `acquire` is one atomic upsert: it takes a free or
expired lease, or renews one the caller already holds, and says whether the caller holds it now.
The holder renews it on every step; when the holder dies, a standby's next `acquire` after
`expires_at` takes it over. Times come from the daemons' clocks, so hosts must keep them in sync
(NTP); a skew shorter than the lease's margin does no harm.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from sqlalchemy import case, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.tables import LeaseRow, now


def new_holder() -> str:
    """This process's name in the leases table: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(db, name: str, holder: str, ttl: float) -> bool:
    """Take or renew the lease `name` for `ttl` seconds; True if `holder` holds it afterwards."""
    t = now()
    current = LeaseRow.__table__.c  # the row already there, in the conflict clause
    with db.session() as s:
        insert = pg_insert if s.bind.dialect.name == "postgresql" else sqlite_insert
        stmt = insert(LeaseRow).values(name=name, holder=holder, expires_at=t + timedelta(seconds=ttl), acquired_at=t)
        ours = current.holder == holder
        stmt = stmt.on_conflict_do_update(
            index_elements=[LeaseRow.name],
            set_={"holder": stmt.excluded.holder, "expires_at": stmt.excluded.expires_at,
                  # Kept while renewing: how long the holder has held it shows in /healthz.
                  "acquired_at": case((ours, current.acquired_at), else_=stmt.excluded.acquired_at)},
            # Only a lease that is ours or has expired is written; otherwise nothing is returned.
            where=ours | (current.expires_at < t),
        ).returning(LeaseRow.name)
        return s.execute(stmt).scalar_one_or_none() is not None


def release(db, holder: str) -> int:
    """Give up every lease `holder` holds (a clean stop): standbys take over at once."""
    with db.session() as s:
        return s.execute(delete(LeaseRow).where(LeaseRow.holder == holder)).rowcount or 0


def clear(db) -> int:
    """Forget every lease: for a daemon that knows it is the only one (SQLite, one per var dir),
    so that a restart after a crash does not wait its predecessor's leases out."""
    with db.session() as s:
        return s.execute(delete(LeaseRow)).rowcount or 0


def held(db) -> dict[str, dict]:
    """Every lease with its holder and whether it is still valid, for /healthz."""
    t = now()
    with db.session() as s:
        rows = s.execute(select(LeaseRow).order_by(LeaseRow.name)).scalars().all()
        return {r.name: {"holder": r.holder, "expires_at": r.expires_at.isoformat(),
                         "since": r.acquired_at.isoformat(), "valid": r.expires_at >= t} for r in rows}
