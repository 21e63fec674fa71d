"""What scoped access costs: the case list (`cases.listing`, the 500 nearest deadlines) and one case's
access check (`access.case_for`) for a curator (the whole municipality) and for an executor (its
department's cases through the assignment history, plus a substitution), over N stored cases spread
over 14 departments, each routed once and a fifth re-routed.

    .venv/bin/python bench/access_listing.py [--cases 5000] [--repeat 20] [--database-url URL]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from otklik.actor import Actor
from otklik.services import access, cases
from storage.db import Database
from storage.tables import CaseAssignmentRow, CaseRow, DepartmentRow, MessageRow, SubstituteRow, UserRow


def seed(db: Database, n: int, rng: random.Random) -> list[str]:
    with db.session() as s:
        depts = list(s.execute(select(DepartmentRow.id).order_by(DepartmentRow.id)).scalars())
        t0 = datetime.now(UTC)
        for i in range(n):
            msg = MessageRow(source="tg", platform="telegram", external_id=str(i), author_id="1",
                             thread={}, text="", created_at=t0, attachments=[], raw={}, processed=True)
            s.add(msg)
            s.flush()
            first = rng.choice(depts)
            row = CaseRow(message_id=msg.id, profile="severny", channel="social", state="routed",
                          executors=[first], location=[], record={}, version=1,
                          answer_by=t0 + timedelta(minutes=rng.randrange(10_000)))
            s.add(row)
            s.flush()
            s.add(CaseAssignmentRow(case_id=row.id, department=first, role="co", assigned_at=t0))
            if rng.random() < 0.2:  # re-routed: the first department keeps it in its history
                s.query(CaseAssignmentRow).filter_by(case_id=row.id).update({"unassigned_at": t0})
                row.executors = [rng.choice(depts)]
                s.add(CaseAssignmentRow(case_id=row.id, department=row.executors[0], role="co", assigned_at=t0))
        for login, dept in (("exe", depts[0]), ("away", depts[1])):
            s.add(UserRow(login=login, role="executor", department=dept, password_hash="-", roles=[]))
        s.flush()
        today = access.local_today()
        s.add(SubstituteRow(absent_login="away", substitute_login="exe", starts_on=today, ends_on=today,
                            reason="leave", created_by="bench"))
    return depts


def timed(db: Database, fn, repeat: int) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(repeat):
        with db.session() as s:
            t0 = time.perf_counter()
            size = fn(s)
            times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.connect(args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}")
        depts = seed(db, args.cases, random.Random(7))
        curator = Actor(login="cur", role="curator", via="cli")
        executor = Actor(login="exe", role="executor", department=depts[0], via="cli")
        with db.session() as s:
            held = s.query(CaseAssignmentRow.case_id).filter_by(department=depts[0]).first()[0]
        print(f"{args.cases} cases, {len(depts)} departments; median of {args.repeat} runs")
        for name, actor in (("curator", curator), ("executor", executor)):
            ms, size = timed(db, lambda s, a=actor: len(cases.listing(s, a)), args.repeat)
            print(f"  list as {name:<9} {ms:7.2f} ms  ({size} cases)")
            ms, _ = timed(db, lambda s, a=actor: access.case_for(s, a, held, "read").case.id, args.repeat)
            print(f"  case_for as {name:<9} {ms:5.2f} ms")
        db.dispose()


if __name__ == "__main__":
    main()
