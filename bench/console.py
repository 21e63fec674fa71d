"""The console's speed over 100,000 cases in PostgreSQL (issue 17): server time of the inbox, a case
page and search (target p95 ≤ 100 ms each), and the delay from a message reaching an emulator to its
row appearing in an open inbox (target median ≤ 2 s). A schema of its own, dropped afterwards.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/console.py \
        [--cases 100000] [--samples 60] [--live 15] [--keep SCHEMA]

Seeds messages, cases, assignments, drafts and replies with bulk INSERTs (not timed; placeholder
texts from a small vocabulary of our own, never real messages) and ANALYZEs. Pages: the daemon's
app served in this process, each page requested `--samples` times by a logged-in curator or roads
executor (the executor's case page: one the department may draft on, so the similar-past-cases
lookup runs; the bench fails if none are shown); "server time" is taken by a middleware around every
handler (request parsed → response ready), the client-side latency is printed beside it. Live: `otklik run` as a child process on the
same database, polling the Telegram emulator (served in this process); a curator's inbox event
stream is open; each of `--live` messages is injected into the emulator and timed until its row
arrives on the stream. Without DATABASE_URL it runs on SQLite."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
import pyotp  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from aiohttp import web  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

from otklik import http  # noqa: E402
from otklik.api import auth  # noqa: E402
from reports.sample import ensure_departments, insert_cases, synthetic  # noqa: E402
from storage.db import Database, in_schema, normalize_url  # noqa: E402
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


def fix_sequences(db: Database) -> None:
    """The bulk rows carry their own ids: move PostgreSQL's sequences past them, or the daemon's
    first new message would collide with message 1."""
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.begin() as conn:
        for table in ("messages", "cases", "drafts", "case_assignments"):
            conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT coalesce(max(id), 1) FROM {table}))"))


def make_users(db: Database) -> dict[str, tuple[str, str | None]]:
    """This run's people (fresh logins, so a kept schema works too), one per login it makes since a
    one-time code is accepted once: purpose -> (login, TOTP secret)."""
    tag = uuid.uuid4().hex[:6]
    out: dict[str, tuple[str, str | None]] = {}
    with db.session() as s:
        for purpose, role, dept in (("cur", "curator", None), ("exe", "executor", "dorogi"),
                                    ("api", "curator", None), ("live", "curator", None)):
            login = f"{purpose}_{tag}"
            out[purpose] = (login, auth.create_user(s, login, role, password=PASSWORD, department=dept)[2])
    return out


async def console_session(base: str, user: str, secret: str | None) -> aiohttp.ClientSession:
    """A browser-like session logged in to the console (CSRF cookie, then the login form)."""
    client = aiohttp.ClientSession(base_url=base, cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with client.get("/console/login") as r:
        await r.read()
    csrf = next(c.value for c in client.cookie_jar if c.key == "otklik_csrf")
    otp = pyotp.TOTP(secret).now() if secret else ""
    async with client.post("/console/login", data={"login": user, "password": PASSWORD, "otp": otp, "csrf": csrf},
                           allow_redirects=False) as r:
        if r.status != 303:
            raise SystemExit(f"console login {user} failed: {r.status}")
    return client


async def api_headers(base: str, user: str, secret: str | None) -> dict[str, str]:
    otp = pyotp.TOTP(secret).now() if secret else None
    async with aiohttp.ClientSession() as c, c.post(f"{base}/api/login", json={
            "login": user, "password": PASSWORD, "otp": otp}) as r:
        if r.status != 200:
            raise SystemExit(f"api login {user} failed: {r.status} {await r.text()}")
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


SEARCH_WORDS = ["отопление", "фонари", "контейнеры Ленина", "гололёд", "крыша", "автобус"]


async def measure_pages(db: Database, n_samples: int, people: dict[str, tuple[str, str | None]]) -> None:
    """Each page `n_samples` times (after 3 warm-up requests) as its user; prints the figures."""
    server_times: dict[str, list[float]] = {}
    app = http.build_app(_AppDaemon(db))
    app.middlewares.insert(0, timing_middleware(server_times))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    last_case = db_cases(db)
    drafting = dorogi_working_cases(db)
    cur, exe = "cur", "exe"
    sessions = {who: await console_session(base, *people[who]) for who in (cur, exe)}
    api = {cur: await api_headers(base, *people["api"])}
    pages = [("console inbox (curator)", cur, "/console/inbox", False),
             ("console inbox (executor, dorogi)", exe, "/console/inbox", False),
             ("console case page (curator)", cur, "/console/cases/{case_id}", False),
             # One the executor may draft on, so the page also looks up similar past cases.
             ("console case page (executor, drafting)", exe, "/console/cases/{drafting_id}", False),
             ("console search (curator)", cur, "/console/search?q={word}", False),
             ("api case list (curator)", cur, "/api/cases", True),
             ("api case (curator)", cur, "/api/cases/{case_id}", True)]
    client_times: dict[str, list[float]] = {}
    try:
        for name, user, path, is_api in pages:
            for i in range(n_samples + 3):
                url = path.format(case_id=random.randint(1, last_case), word=random.choice(SEARCH_WORDS),
                                  drafting_id=random.choice(drafting))
                headers = {"X-Bench": name if i >= 3 else ""}
                started = time.perf_counter()
                if is_api:
                    async with aiohttp.ClientSession() as c, c.get(base + url, headers={**api[user], **headers}) as r:
                        await r.read()
                        status = r.status
                else:
                    async with sessions[user].get(url, headers=headers, allow_redirects=False) as r:
                        body = await r.read()
                        status = r.status
                    if "{drafting_id}" in path and b'id="similar"' not in body:
                        raise SystemExit(f"{name}: {url} shows no similar cases; the lookup did not run")
                if status != 200:
                    raise SystemExit(f"{name}: {url} answered {status}")
                if i >= 3:  # the first requests warm caches and connections
                    client_times.setdefault(name, []).append(time.perf_counter() - started)
    finally:
        for c in sessions.values():
            await c.close()
        await runner.cleanup()
    print(f"{'page':<34} {'server p50':>11} {'server p95':>11} {'client p95':>11}  target p95 ≤ 100 ms")
    for name, *_ in pages:
        st, ct = server_times.get(name, []), client_times.get(name, [])
        print(f"{name:<34} {statistics.median(st) * 1000:>9.1f}ms {percentile(st, 0.95) * 1000:>9.1f}ms "
              f"{percentile(ct, 0.95) * 1000:>9.1f}ms  ({len(st)} requests)")


def dorogi_working_cases(db: Database) -> list[int]:
    """Cases the roads executor may draft on now (held by the department, in a working state)."""
    with db.engine.connect() as conn:
        ids = conn.execute(sa.text(
            "SELECT c.id FROM cases c JOIN case_assignments a ON a.case_id = c.id "
            "WHERE a.department = 'dorogi' AND a.unassigned_at IS NULL AND c.state IN ('routed', 'drafting') "
            "ORDER BY c.id DESC LIMIT 500")).scalars().all()
    if not ids:
        raise SystemExit("no case the roads executor may draft on")
    return list(ids)


def db_cases(db: Database) -> int:
    with db.engine.connect() as conn:
        return conn.execute(sa.text("SELECT max(id) FROM cases")).scalar_one()


class _AppDaemon:
    """The daemon as the HTTP app sees it, without pollers or workers (as tests/otklik/doubles.py)."""

    def __init__(self, db: Database) -> None:
        self.db, self.connectors, self.relay, self.pipeline = db, {}, None, None
        self.wake_pipeline = asyncio.Event()


async def next_case_event(stream: aiohttp.StreamReader, timeout: float) -> int:
    """Read the event stream until a `case` event; its case id."""
    event = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = (await asyncio.wait_for(stream.readline(), max(0.1, deadline - time.monotonic()))).decode()
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and event == "case":
            return int(json.loads(line[5:])["id"])
    raise TimeoutError


async def measure_live(url: str, n: int, person: tuple[str, str | None], tmp: Path) -> None:
    """`otklik run` on this database polling the Telegram emulator; per message: inject → row on the stream."""
    from otklik.demo.run import free_port
    from sandbox.registry import emulator_class
    from sandbox.runner import serving

    emulator = emulator_class("telegram")(seed=17)
    with serving(emulator) as tg:
        port = free_port()
        config = tmp / "otklik.toml"
        # A source of this run's own: a kept schema holds earlier runs' cursors, and this run's
        # emulator counts its updates from 1 again (an old cursor would skip them all).
        source = f"tg_bench_{uuid.uuid4().hex[:6]}"
        config.write_text(f'profile = "severny"\nhttp_port = {port}\n\n[[sources]]\nname = "{source}"\n'
                          f'platform = "telegram"\nbase_url = "{tg.url}"\npoll_interval = 0.3\n', encoding="utf-8")
        env = {**os.environ, "OTKLIK_CONFIG": str(config), "OTKLIK_VAR_DIR": str(tmp), "DATABASE_URL": url,
               "OTKLIK_LOG_LEVEL": "WARNING"}
        for key, value in emulator.demo_secrets().items():
            env[f"OTKLIK_SECRET_{source.upper()}_{key.upper()}"] = value
        log = (tmp / "daemon.log").open("wb")
        daemon = subprocess.Popen([sys.executable, "-m", "otklik", "run"], env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    async with aiohttp.ClientSession() as c, c.get(f"{base}/healthz") as r:
                        if r.status in (200, 503):
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
            client = await console_session(base, *person)
            delays: list[float] = []
            missed = 0
            try:
                # As the inbox page does: the stream starts after the newest case shown, so every
                # event is a new case (with after=0 the whole backlog would come first).
                engine = sa.create_engine(normalize_url(url))
                with engine.connect() as conn:
                    newest = conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM cases")).scalar_one()
                engine.dispose()
                async with client.get(f"/console/inbox/events?after={newest}",
                                      timeout=aiohttp.ClientTimeout(total=None)) as r:
                    rng = random.Random()
                    for _ in range(n):
                        # Different every time (a kept schema holds earlier runs' messages): moderation
                        # drops a duplicate, and a dropped message never reaches the inbox.
                        text = (f"Здравствуйте! {rng.choice(PROBLEMS).capitalize()} у дома {rng.randint(1, 999)}, "
                                f"{rng.choice(PLACES)}, подъезд {rng.randint(1, 12)}. Заявка {uuid.uuid4().hex[:8]}.")
                        started = time.perf_counter()
                        tg.call(emulator.inject, {"text": text})
                        try:
                            await next_case_event(r.content, 30.0)
                        except TimeoutError:
                            missed += 1
                            continue
                        delays.append(time.perf_counter() - started)
                        await asyncio.sleep(0.5)
            finally:
                await client.close()
        finally:
            daemon.terminate()
            daemon.wait(60)
            log.close()
    if not delays:
        print(f"live: no message reached the inbox within 30 s ({missed} tried); see {tmp / 'daemon.log'}")
        return
    print(f"live: emulator → row in an open inbox, {len(delays)} messages: median {statistics.median(delays):.2f} s, "
          f"max {max(delays):.2f} s, not shown within 30 s: {missed}  [target median ≤ 2 s]")


def main() -> int:
    # A key of this run's own for the TOTP secrets it creates (the child daemon inherits it).
    os.environ.setdefault("OTKLIK_SECRET_KEY", Fernet.generate_key().decode())
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--samples", type=int, default=60, help="requests per page (0: skip the pages)")
    ap.add_argument("--live", type=int, default=15, help="messages timed from the emulator to the inbox (0: skip)")
    ap.add_argument("--keep", metavar="SCHEMA", help="PostgreSQL: use (and keep) this schema; seed it only if empty")
    args = ap.parse_args()
    pg = os.environ.get("DATABASE_URL")
    schema = args.keep or f"bench_console_{uuid.uuid4().hex[:8]}"
    tmp = Path(tempfile.mkdtemp(prefix="otklik-bench-console-"))
    admin = None
    if pg:
        admin = sa.create_engine(normalize_url(pg))
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        url = in_schema(pg, schema)
    else:
        url = f"sqlite:///{tmp}/bench.db"
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
        fix_sequences(db)
        people = make_users(db)
        if args.samples:
            asyncio.run(measure_pages(db, args.samples, people))
        db.dispose()
        if args.live:
            asyncio.run(measure_live(url, args.live, people["live"], tmp))
    finally:
        if admin is not None:
            if not args.keep:
                with admin.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
