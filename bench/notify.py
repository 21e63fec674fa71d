"""What notifying people costs where it happens: opening and routing a case (`cases.open_or_update`,
one transaction each) with the notes written (each executor of the department, e-mail and console)
against the same with the hook switched off, and one relay pass over the pending notes; with S
staff (a tenth executors of the routed department, all with an e-mail address).

    .venv/bin/python bench/notify.py [--cases 300] [--staff 60] [--database-url URL]

It writes tables: give PostgreSQL a schema of its own (storage.db.in_schema), never a shared one.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from otklik.notify import events, store
from otklik.services import cases
from router.classifier import Routing
from storage.db import Database
from storage.tables import DepartmentRow, MessageRow, NotificationRow, UserRow

ROUTING = Routing(topic_group="Дороги", topic="Ямы на дорогах", confidence=0.9, importance="normal",
                  executors=["dorogi"])


def seed_staff(db: Database, n: int) -> None:
    with db.session() as s:
        if s.get(DepartmentRow, "dorogi") is None:
            s.add(DepartmentRow(id="dorogi", name="Дороги"))
        for i in range(n):
            role = "executor" if i % 10 == 0 else ("curator", "approver", "head", "executor")[i % 4]
            dept = "dorogi" if i % 10 == 0 else ("other" if role == "executor" else None)
            if dept == "other" and s.get(DepartmentRow, "other") is None:
                s.add(DepartmentRow(id="other", name="Другое"))
                s.flush()
            s.add(UserRow(login=f"u{i}", role=role, roles=[role], department=dept, password_hash="-",
                          email=f"u{i}@adm.example"))


def open_cases(db: Database, n: int, tag: str) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        with db.session() as s:
            msg = MessageRow(source="vk", platform="vk", external_id=f"{tag}{i}", author_id="1", thread={},
                             text="Яма", created_at=datetime.now(UTC), attachments=[], raw={}, processed=True)
            s.add(msg)
            s.flush()
            cases.open_or_update(s, msg, ROUTING, channel="social", profile_name="severny")
    return (time.perf_counter() - t0) / n * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--staff", type=int, default=60)
    ap.add_argument("--database-url")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    config = tmp / "otklik.toml"
    config.write_text('profile = "severny"\n[mail]\nhost = "127.0.0.1"\n', encoding="utf-8")
    os.environ["OTKLIK_CONFIG"] = str(config)
    db = Database.connect(args.database_url or f"sqlite:///{tmp / 'bench.db'}")
    seed_staff(db, args.staff)
    open_cases(db, 20, "warm")
    hook = events.case_step
    events.case_step = lambda *a, **k: None
    off = open_cases(db, args.cases, "off")
    events.case_step = hook
    on = open_cases(db, args.cases, "on")
    with db.session() as s:
        notes = s.query(NotificationRow).count()
        t0 = time.perf_counter()
        due = len(store.due_for_enqueue(s, limit=200))
        relay_ms = (time.perf_counter() - t0) * 1000
    print(f"staff {args.staff}, cases {args.cases}: open+route {off:.2f} ms/case without notes, "
          f"{on:.2f} ms/case with ({on - off:+.2f} ms); notes written {notes}; "
          f"relay's due query ({due} rows) {relay_ms:.1f} ms")


if __name__ == "__main__":
    main()
