"""How long the staff notifications' queue figures take over a large table: the /metrics count by
status and channel (every status: a scan), the /healthz count (undelivered and failed only, through
the status index) and the oldest due note's age.

    .venv/bin/python bench/notify_queue.py [--rows 200000]

SQLite in a temporary directory only: it writes 200,000 rows, never point it at a shared database.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta

from sqlalchemy import insert

from otklik import observe
from otklik.notify import store
from storage.db import Database
from storage.tables import NotificationRow, UserRow, now


def fill(db: Database, n: int) -> None:
    """n notes of one person: 99% sent, the rest pending, failed or deferred, over three channels."""
    t = now()
    with db.session() as s:
        u = UserRow(login="bench", role="executor", roles=["executor"], password_hash="-")
        s.add(u)
        s.flush()
        rows = [dict(dedupe_key=f"b{i}|{u.id}", user_id=u.id, channel=("email", "console", "telegram")[i % 3],
                     kind="assigned", subject="s", text="t", urgent=False, attempts=0,
                     created_at=t - timedelta(seconds=i),
                     status="sent" if i % 100 else ("pending", "failed", "deferred")[i // 100 % 3])
                for i in range(n)]
        for k in range(0, n, 5000):
            s.execute(insert(NotificationRow), rows[k:k + 5000])


def best_ms(db: Database, fn, reps: int = 5) -> float:
    best = float("inf")
    for _ in range(reps):
        with db.session() as s:
            started = time.perf_counter()
            fn(s)
            best = min(best, time.perf_counter() - started)
    return best * 1000


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=200_000)
    args = p.parse_args()
    db = Database.connect(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
    fill(db, args.rows)
    undelivered = (*store.ACTIVE, "failed")
    print(f"rows {args.rows}: /metrics by status and channel {best_ms(db, observe.notifications):.1f} ms; "
          f"/healthz undelivered+failed {best_ms(db, lambda s: observe.notifications(s, undelivered)):.1f} ms; "
          f"oldest due {best_ms(db, observe.notify_oldest_due):.1f} ms (best of 5)")


if __name__ == "__main__":
    main()
