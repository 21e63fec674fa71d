"""OK ingest throughput against the emulator, and whether polling keeps to the rate limit.

    .venv/bin/python bench/ingest_ok.py [--comments 3000] [--topics 10] [--chat 1000] [--rps 3]

The emulator runs in its own process (so its clock sees requests when they arrive, not when this
process's threads let it run), filled with citizens' comments spread over topics and messages in the
group chat. We poll with `poll_once` into a fresh SQLite database until everything is stored, then
print messages/s, the requests the emulator saw in its busiest second (sliding window) per API
against the configured limit, and how often the emulator answered "flood blocked" (must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.base import SourceConfig  # noqa: E402
from connectors.ok.connector import OkConnector  # noqa: E402
from otklik.poller import poll_once  # noqa: E402
from sandbox.base import busiest_second
from sandbox.ok.emulator import OkEmulator  # noqa: E402
from sandbox.runner import serving  # noqa: E402
from storage.db import Database  # noqa: E402


def serve(args: argparse.Namespace, pipe) -> None:
    """The child process: a filled emulator, served until the parent says stop."""
    emulator = OkEmulator(rps_limit=args.ok_limit)
    topics = [emulator.post_topic(f"Новость администрации №{i}").id for i in range(args.topics)]
    for i in range(args.comments):
        emulator.inject(
            {
                "text": f"Обращение жителя {i}: не убран двор у дома {i % 90 + 1}.",
                "author_id": 800_000_000_000 + i % 500,
                "discussion_id": topics[i % len(topics)],
            }
        )
    for i in range(args.chat):
        emulator.inject(
            {"text": f"Вопрос в чате {i}", "target": "chat", "author_id": 810_000_000_000 + i % 50}
        )
    with serving(emulator) as server:
        pipe.send((server.url, emulator.demo_secrets(), emulator.demo_options()))
        pipe.recv()


async def poll_all(
    url: str, secrets: dict, options: dict, args: argparse.Namespace, db: Database
) -> tuple[float, int]:
    cfg = SourceConfig(
        name="ok",
        platform="ok",
        base_url=url,
        secrets=secrets,
        options={**options, "rps": args.rps, "bot_rps": args.rps, "topics_window": args.topics + 5},
    )
    conn = OkConnector(cfg)
    expected = args.comments + args.chat
    started = time.perf_counter()
    polls = 0
    while db.count_messages("ok") < expected and polls < 1000:
        await poll_once(conn, db)
        polls += 1
    elapsed = time.perf_counter() - started
    await conn.aclose()
    return elapsed, polls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=3000)
    parser.add_argument("--topics", type=int, default=10)
    parser.add_argument("--chat", type=int, default=1000)
    parser.add_argument(
        "--rps", type=int, default=3, help="the connector's rps and bot_rps (default: their default)"
    )
    parser.add_argument("--ok-limit", type=int, default=10, help="calls per second the emulator allows")
    args = parser.parse_args()
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=serve, args=(args, child), daemon=True)
    proc.start()
    url, secrets, options = parent.recv()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = Database.connect(f"sqlite:///{Path(tmp) / 'bench.db'}")
            elapsed, polls = asyncio.run(poll_all(url, secrets, options, args, db))
            stored = db.count_messages("ok")
            db.dispose()
        seen = httpx.get(f"{url}/_sandbox/calls").json()
    finally:
        parent.send("stop")
        proc.join(10)
    expected = args.comments + args.chat
    print(
        f"stored {stored}/{expected} messages in {elapsed:.2f} s over {polls} polls: {stored / elapsed:.0f} messages/s"
    )
    for api, option in (("rest", "rps"), ("bot", "bot_rps")):
        times = [t for t, kind in seen["calls"] if kind == api]
        print(
            f"{api} API: {len(times)} requests, busiest second {busiest_second(times)} "
            f"(option {option}={args.rps}, emulator limit {args.ok_limit})"
        )
    print(f"flood-blocked answers: {seen['rate_limited']}")


if __name__ == "__main__":
    main()
