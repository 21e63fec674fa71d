"""A quarter's full report over 100,000 cases on PostgreSQL (target: ≤ 3 s), in a schema of its own
that is dropped afterwards.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/reports.py [--cases 100000]

Seeds with bulk INSERTs (not timed), then times: reading the facts (queries), computing every section,
and rendering XLSX, JSON and HTML. Prints each figure, three runs. The wall-clock figure is the one
the target is about; the process's CPU time and the load average are printed beside it because on a
shared machine the wall clock mostly measures the other processes. --explain then runs each query of
one report under EXPLAIN ANALYZE and prints the database's own execution time per query (PostgreSQL):
with the process's CPU time, that says where the time goes. Without DATABASE_URL it runs on SQLite."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from otklik.actor import Actor  # noqa: E402
from regulation.profiles import load_profile  # noqa: E402
from reports import compute, queries  # noqa: E402
from reports.period import instants  # noqa: E402
from reports.produce import render  # noqa: E402
from reports.sample import ensure_departments, insert_cases, synthetic  # noqa: E402
from storage.db import Database, in_schema, normalize_url  # noqa: E402
from storage.tables import now  # noqa: E402

PROFILE = "sobolevo"  # quarterly reports (000 §24)
HEAD = Actor(login="head", role="head", via="system")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--keep", metavar="SCHEMA", help="PostgreSQL: use (and keep) this schema; seed it only if empty")
    ap.add_argument("--explain", action="store_true", help="PostgreSQL: the database's time per query of one report")
    args = ap.parse_args()
    pg = os.environ.get("DATABASE_URL")
    schema = args.keep or f"bench_reports_{uuid.uuid4().hex[:8]}"
    if pg:
        admin = sa.create_engine(normalize_url(pg))
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        url = in_schema(pg, schema)
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    try:
        db = Database.connect(url)
        profile = load_profile(PROFILE)
        first, last = date(2026, 7, 1), date(2026, 9, 30)
        start, end = instants(first, last, profile.calendar.tz)
        t0 = time.perf_counter()
        with db.engine.connect() as conn:
            seeded = conn.execute(sa.text("SELECT count(*) FROM cases")).scalar_one()
        with db.session() as s:
            if seeded:
                print(f"reusing {seeded} cases in schema {schema}")
                args.cases = 0
            ensure_departments(s, ["dorogi", "zhkh", "blago", "transport"])
            if args.cases:
                insert_cases(s, synthetic(args.cases, start, end), profile=PROFILE,
                             dropped=[(datetime(2026, 8, 1, 12, tzinfo=profile.calendar.tz), ["abuse"], False)] * 500)
        if pg:
            with db.engine.begin() as conn:
                conn.execute(sa.text("ANALYZE"))
        print(f"seeded {args.cases} cases in {time.perf_counter() - t0:.1f} s ({'PostgreSQL' if pg else 'SQLite'})")
        for attempt in (1, 2, 3):
            c1 = time.process_time()
            t1 = time.perf_counter()
            with db.session() as s:
                facts = queries.load(s, HEAD, start, end)
            t2 = time.perf_counter()
            rep = compute.build(facts, profile=profile, start=start, end=end, generated_at=now())
            t3 = time.perf_counter()
            xlsx = render(rep, "xlsx")
            t4 = time.perf_counter()
            c4 = time.process_time()
            js = render(rep, "json")
            html = render(rep, "html")
            t5 = time.perf_counter()
            total = rep["sections"][0]["tables"][0]["rows"][0]
            print(f"run {attempt}: cases {rep['meta']['cases']}, received {total['received']}, on time "
                  f"{total['answered_on_time']}, late {total['answered_late']}, median {total['median_hours']} h")
            print(f"  read {t2 - t1:.2f} s, compute {t3 - t2:.2f} s, xlsx {t4 - t3:.2f} s ({len(xlsx) // 1024} KiB), "
                  f"json+html {t5 - t4:.2f} s ({len(js) // 1024} + {len(html) // 1024} KiB)")
            print(f"  full report (read + compute + xlsx): {t4 - t1:.2f} s  [target ≤ 3 s]; this process's CPU "
                  f"{c4 - c1:.2f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        if pg and args.explain:
            explain(db, start, end)
        db.dispose()
    finally:
        if pg and not args.keep:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    return 0


def explain(db: Database, start: datetime, end: datetime) -> None:
    """Each statement one report runs, again under EXPLAIN (ANALYZE, TIMING OFF): the server's time."""
    caught: list[tuple[str, object]] = []

    def catch(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            caught.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", catch)
    with db.session() as s:
        queries.load(s, HEAD, start, end)
    sa.event.remove(db.engine, "before_cursor_execute", catch)
    total = 0.0
    with db.engine.connect() as conn:
        for statement, parameters in caught:
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, TIMING OFF) " + statement, parameters).scalars().all()
            ms = float(plan[-1].split(":")[1].split()[0])  # "Execution Time: 123.456 ms"
            total += ms
            print(f"  {ms:8.1f} ms  {' '.join(statement.split())[:110]}")
    print(f"  database execution, all queries of one report: {total:.0f} ms")


if __name__ == "__main__":
    sys.exit(main())
