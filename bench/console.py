"""Server time of the console's busiest pages over 100,000 cases in PostgreSQL (issue 17: p95 ≤ 100 ms
each for the inbox, a case page and search), in a schema of its own that is dropped afterwards.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/console.py \
        [--cases 100000] [--samples 60] [--keep SCHEMA]

Seeds messages, cases, assignments, drafts and replies with bulk INSERTs (not timed; placeholder
texts built from a small vocabulary, never real messages), ANALYZEs, then serves the daemon's
aiohttp app in this process and requests each page `--samples` times as a logged-in user. "Server
time" is measured by a middleware around the handlers (request parsed → response ready), so the
client's own overhead is not counted; the client-side latency is printed beside it. Pages: the
API's case list and case (what the console's views call), and the console's pages where the console
package is installed (`otklik/console/`). Without DATABASE_URL it runs on SQLite."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyotp  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from aiohttp import web  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

from otklik import http  # noqa: E402
from otklik.api import auth  # noqa: E402
from reports.sample import ensure_departments, insert_cases, synthetic  # noqa: E402
from storage.db import Database, normalize_url  # noqa: E402
from storage.tables import now  # noqa: E402

PASSWORD = "Bench-console-2026"
DEPARTMENTS = ["dorogi", "zhkh", "blago", "transport"]
# Placeholder texts: a vocabulary of our own, combined by id, so search has words to find.
PROBLEMS = ["яма на дороге", "не убран снег", "нет отопления", "не горят фонари", "автобус не пришёл",
            "течёт крыша", "переполнены контейнеры", "сломана лавочка", "нет горячей воды", "гололёд на тротуаре"]
PLACES = ["улица Ленина", "Садовая улица", "микрорайон Заречье", "проспект Мира", "посёлок Северный",
          "улица Гагарина", "Школьный переулок"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


def seed(db: Database, n: int) -> None:
    """`n` cases over the last 120 days (most answered, the rest open with deadlines around now)."""
    t = now()
    with db.session() as s:
        ensure_departments(s, DEPARTMENTS)
        specs = synthetic(n, t - timedelta(days=120), t)
        insert_cases(s, specs, profile="severny")
    # Texts from the vocabulary, by id: one statement on either backend.
    problems = " ".join(f"WHEN {i} THEN '{p}'" for i, p in enumerate(PROBLEMS))
    places = " ".join(f"WHEN {i} THEN '{p}'" for i, p in enumerate(PLACES))
    with db.engine.begin() as conn:
        conn.execute(sa.text(
            f"UPDATE messages SET text = 'Здравствуйте! ' || (CASE id % {len(PROBLEMS)} {problems} END) || ', ' || "
            f"(CASE (id / {len(PROBLEMS)}) % {len(PLACES)} {places} END) || '. Обращение номер ' || id"))
        if db.engine.dialect.name == "postgresql":
            conn.execute(sa.text("ANALYZE"))


def make_users(db: Database) -> dict[str, str | None]:
    """A curator and a roads executor of this run (fresh logins, so a kept schema works too);
    returns each login's TOTP secret (the curator logs in with a one-time code)."""
    tag = uuid.uuid4().hex[:6]
    secrets: dict[str, str | None] = {}
    with db.session() as s:
        for login, role, dept in ((f"cur_{tag}", "curator", None), (f"exe_{tag}", "executor", "dorogi")):
            _, _, secrets[login] = auth.create_user(s, login, role, password=PASSWORD, department=dept)
    return secrets


async def login(client: TestClient, user: str, secret: str | None) -> dict[str, str]:
    otp = pyotp.TOTP(secret).now() if secret else None
    r = await client.post("/api/login", json={"login": user, "password": PASSWORD, "otp": otp})
    if r.status != 200:
        raise SystemExit(f"login {user} failed: {r.status} {await r.text()}")
    return {"Authorization": f"Bearer {(await r.json())['token']}"}


def timing_middleware(samples: dict[str, list[float]]):
    @web.middleware
    async def timed(request: web.Request, handler):
        started = time.perf_counter()
        try:
            return await handler(request)
        finally:
            key = request.headers.get("X-Bench", "")
            if key:
                samples.setdefault(key, []).append(time.perf_counter() - started)
    return timed


async def measure(db: Database, n_samples: int, pages: list[tuple[str, str, str]],
                  secrets: dict[str, str | None]) -> None:
    """Each page `n_samples` times (after 3 warm-up requests) as its user; prints the figures."""
    server_times: dict[str, list[float]] = {}
    app = http.build_app(_AppDaemon(db))
    app.middlewares.insert(0, timing_middleware(server_times))
    async with TestClient(TestServer(app)) as client:
        headers = {u: await login(client, u, secret) for u, secret in secrets.items()}
        last_case = db_cases(db)
        client_times: dict[str, list[float]] = {}
        for name, user, path in pages:
            for i in range(n_samples + 3):
                url = path.format(case_id=random.randint(1, last_case))
                started = time.perf_counter()
                r = await client.get(url, headers={**headers[user], "X-Bench": name if i >= 3 else ""})
                await r.read()
                if r.status != 200:
                    raise SystemExit(f"{name}: {url} answered {r.status}")
                if i >= 3:  # the first requests warm caches and connections
                    client_times.setdefault(name, []).append(time.perf_counter() - started)
        print(f"{'page':<34} {'server p50':>11} {'server p95':>11} {'client p95':>11}  target p95 ≤ 100 ms")
        for name, _, _ in pages:
            st, ct = server_times.get(name, []), client_times.get(name, [])
            print(f"{name:<34} {statistics.median(st) * 1000:>9.1f}ms {percentile(st, 0.95) * 1000:>9.1f}ms "
                  f"{percentile(ct, 0.95) * 1000:>9.1f}ms  ({len(st)} requests)")


def db_cases(db: Database) -> int:
    with db.engine.connect() as conn:
        return conn.execute(sa.text("SELECT max(id) FROM cases")).scalar_one()


class _AppDaemon:
    """The daemon as the HTTP app sees it, without pollers or workers (as tests/otklik/doubles.py)."""

    def __init__(self, db: Database) -> None:
        self.db, self.connectors, self.relay, self.pipeline = db, {}, None, None
        self.wake_pipeline = asyncio.Event()


def main() -> int:
    # A key of this run's own for the TOTP secrets it creates: nothing written under var/.
    os.environ.setdefault("OTKLIK_SECRET_KEY", Fernet.generate_key().decode())
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--samples", type=int, default=60)
    ap.add_argument("--keep", metavar="SCHEMA", help="PostgreSQL: use (and keep) this schema; seed it only if empty")
    args = ap.parse_args()
    pg = os.environ.get("DATABASE_URL")
    schema = args.keep or f"bench_console_{uuid.uuid4().hex[:8]}"
    admin = None
    if pg:
        admin = sa.create_engine(normalize_url(pg))
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        sep = "&" if "?" in pg else "?"
        url = f"{pg}{sep}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    try:
        db = Database.connect(url)
        with db.engine.connect() as conn:
            seeded = conn.execute(sa.text("SELECT count(*) FROM cases")).scalar_one()
        t0 = time.perf_counter()
        if seeded:
            print(f"reusing {seeded} cases in schema {schema}")
        else:
            seed(db, args.cases)
            print(f"seeded {args.cases} cases in {time.perf_counter() - t0:.1f} s "
                  f"({'PostgreSQL' if pg else 'SQLite'})")
        secrets = make_users(db)
        cur, exe = sorted(secrets)
        pages = [("api inbox (curator)", cur, "/api/cases"),
                 ("api inbox (executor, dorogi)", exe, "/api/cases"),
                 ("api case (curator)", cur, "/api/cases/{case_id}")]
        asyncio.run(measure(db, args.samples, pages, secrets))
        db.dispose()
    finally:
        if admin is not None:
            if not args.keep:
                with admin.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
