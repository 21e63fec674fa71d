"""Ingest throughput from the regional platforms' mocks, and whether polling keeps to each
platform's request limit.

    .venv/bin/python bench/ingest_regional.py [--messages 1000] [--pos-messages 200] [--only pos]

For each platform: N citizen messages are waiting; the real connector polls with `poll_once` into
an embedded SQLite database until all are stored. Prints messages/s, the most requests the mock saw
in any one-second window against its limit, and the 429s its limiter answered (should be 0: the
connector waits before the platform complains). ПОС acknowledges every appeal with one request
(`mark-accepted`), so its throughput is bounded by its request limit; it gets a smaller N.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.base import SourceConfig  # noqa: E402
from connectors.registry import connector_class  # noqa: E402
from otklik.poller import poll_once  # noqa: E402
from sandbox.base import busiest_second
from sandbox.registry import emulator_class  # noqa: E402
from sandbox.runner import serving  # noqa: E402
from storage.db import Database  # noqa: E402

PLATFORMS = ("incident_management", "pos", "kamchatka")
PAGE = {"incident_management": {"limit": 100}, "pos": {"page_size": 100}, "kamchatka": {"limit": 100}}


async def drain(platform: str, url: str, secrets: dict[str, str], db: Database, n: int) -> tuple[float, int]:
    config = SourceConfig(
        name=platform, platform=platform, base_url=url, secrets=secrets, options=PAGE[platform]
    )
    connector = connector_class(platform)(config)
    polls = 0
    started = time.perf_counter()
    try:
        while True:
            result = await poll_once(connector, db)
            polls += 1
            if db.count_messages(platform) >= n and not result.has_more:
                break
        if platform == "pos":
            await poll_once(connector, db)  # acknowledges the last page
            polls += 1
    finally:
        await connector.aclose()
    return time.perf_counter() - started, polls


async def hammer(platform: str, url: str, secrets: dict[str, str], polls: int) -> None:
    """Poll an empty feed back to back: only our limiter stands between us and a 429."""
    config = SourceConfig(
        name=platform, platform=platform, base_url=url, secrets=secrets, options=PAGE[platform]
    )
    connector = connector_class(platform)(config)
    try:
        cursor = None
        for _ in range(polls):
            cursor = (await connector.fetch(cursor)).next_cursor or cursor
    finally:
        await connector.aclose()


def run(platform: str, n: int, tmp: Path) -> None:
    db = Database.connect(f"sqlite:///{tmp / (platform + '.db')}")
    emulator = emulator_class(platform)()
    with serving(emulator) as server:
        for i in range(n):
            server.call(
                emulator.inject,
                {
                    "text": f"Не горит фонарь у дома {i % 90 + 1} по улице Мира, №{i}",
                    "author_id": 700_000 + i % 500,
                    "author_name": "Житель Мира",
                },
            )
        emulator.call_times.clear()
        elapsed, polls = asyncio.run(drain(platform, server.url, emulator.demo_secrets(), db, n))
        stored = db.count_messages(platform)
        peak = busiest_second(emulator.call_times)
        requests = len(emulator.call_times)
        emulator.call_times.clear()
        time.sleep(1.1)  # a new connector has a new limiter: let the platform's window empty first
        asyncio.run(hammer(platform, server.url, emulator.demo_secrets(), 3 * emulator.rps_limit))
        idle_peak = busiest_second(emulator.call_times)
    print(
        f"{platform:<20} {stored:>5} messages in {elapsed:6.2f} s = {stored / elapsed:8.1f} messages/s "
        f"({requests} requests, {polls} polls, busiest second {peak}); back-to-back polls of the empty feed: "
        f"busiest second {idle_peak} requests (limit {emulator.rps_limit}/s); 429 from the limit: "
        f"{emulator.rate_limited}"
    )
    db.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--pos-messages", type=int, default=200)
    ap.add_argument("--only", choices=PLATFORMS)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="otk-bench-regional-", dir="/tmp"))
    try:
        for platform in (args.only,) if args.only else PLATFORMS:
            run(platform, args.pos_messages if platform == "pos" else args.messages, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
