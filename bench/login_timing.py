"""Failed logins take the same time whatever failed: an unknown login, a wrong password, or the right
password with a wrong code — so that timing does not tell which logins exist or which passwords
are right.

    .venv/bin/python bench/login_timing.py [--n 40] [--database-url URL]

Drives the real API (aiohttp app, the account service, a real database: embedded SQLite in a
temporary folder unless --database-url) over HTTP on localhost. Attempts are interleaved (one of
each kind per round) so drifts in machine load hit all kinds alike. The throttle would refuse
most of them (that is its job, tested in tests/otklik/test_login_throttle.py): each attempt comes
from its own address and an admin unlock (outside the timed part) follows each round. Prints the
median and p90 of each kind and the ratio of the slowest median to the fastest (target ≤ 1.20)."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet  # noqa: E402

os.environ.setdefault("OTKLIK_SECRET_KEY", Fernet.generate_key().decode())

from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

from otklik import http  # noqa: E402
from otklik.api import accounts, auth  # noqa: E402
from storage.db import Database  # noqa: E402
from tests.otklik.doubles import AppDaemon  # noqa: E402

PASSWORD = "Bench-password-2026"


async def run(n: int, url: str) -> dict[str, list[float]]:
    db = Database.connect(url)
    with db.session() as s:
        auth.create_user_full(s, "head", "head", password=PASSWORD)
        auth.create_user_full(s, "exe", "executor", password=PASSWORD)
    counter = iter(range(10**9))
    # Each attempt from its own address, so the throttle (which is measured elsewhere) stays out of it.
    accounts.client_address = lambda request: f"192.0.2.{next(counter)}"
    kinds = {
        "unknown login": {"login": "nobody", "password": PASSWORD, "otp": "123456"},
        "known login, wrong password": {"login": "head", "password": "Wrong-password-1", "otp": "123456"},
        "right password, wrong code": {"login": "head", "password": PASSWORD, "otp": "123456"},
        "executor, wrong password": {"login": "exe", "password": "Wrong-password-1"},
    }
    times: dict[str, list[float]] = {k: [] for k in kinds}
    async with TestClient(TestServer(http.build_app(AppDaemon(db)))) as client:
        for body in kinds.values():  # warm-up: first scrypt, first queries
            await client.post("/api/login", json=body)
        for _ in range(n):
            for kind, body in kinds.items():
                start = time.perf_counter()
                r = await client.post("/api/login", json=body)
                times[kind].append(time.perf_counter() - start)
                assert r.status == 401, (kind, r.status, await r.text())
            with db.session() as s:
                for login in ("nobody", "head", "exe"):
                    auth.unlock(s, login, by="bench")
    db.dispose()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=40, help="attempts of each kind")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'otklik.db'}"
        times = asyncio.run(run(args.n, url))
    medians = {}
    for kind, values in times.items():
        values.sort()
        medians[kind] = statistics.median(values)
        p90 = values[int(0.9 * (len(values) - 1))]
        print(f"{kind:<30} n={len(values):<4} median {medians[kind] * 1000:7.1f} ms   p90 {p90 * 1000:7.1f} ms")
    ratio = max(medians.values()) / min(medians.values())
    print(f"slowest/fastest median: {ratio:.3f} (target ≤ 1.20) on {url.split(':')[0]}")


if __name__ == "__main__":
    main()
