"""VK ingest throughput against the emulator, and whether polling keeps within VK's limits.

    .venv/bin/python bench/ingest_vk.py [--events 5000] [--posts 15] [--comments 40]

1. Stream: `--events` citizen events (the emulator's mix of comments, messages, posts, board posts)
   are waiting in the Bots Long Poll history; polls (fetch, then store in SQLite, as `poll_once`)
   run until all are stored. Prints messages/s of the connector alone and end to end.
2. Reconciliation: the long poll history is lost (failed=1); the connector re-reads `--posts`
   citizens' posts with `--comments` comments each over REST with a service token (3 requests/s).
   Prints messages/s and the most requests any token made within one second as the emulator counted
   them, against VK's limits, and how many error 6 the emulator had to answer (should be 0).
3. Replies: `--replies` answers sent at once (as a worker pool would) through the community token's
   limiter: the same two figures.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from connectors.base import SourceConfig
from connectors.vk.connector import VkConnector
from otklik.models import Reply, Thread
from sandbox.runner import serving
from sandbox.vk.emulator import VkEmulator
from sandbox.vk.world import GROUP_ID
from storage.db import Database


def connector(url: str, emulator: VkEmulator) -> VkConnector:
    cfg = SourceConfig(
        name="vk:bench",
        platform="vk",
        base_url=url,
        secrets=emulator.demo_secrets(),
        options={"group_id": GROUP_ID, "wait": 0},
    )
    return VkConnector(cfg)


async def drain(conn: VkConnector, db: Database) -> tuple[int, float]:
    """poll_once until nothing more waits; returns the number of polls and the seconds spent in
    `fetch` alone (the rest is the store)."""
    polls, fetching = 0, 0.0
    while True:
        cursor = db.get_cursor(conn.config.name)
        started = time.perf_counter()
        batch = await conn.fetch(cursor)
        fetching += time.perf_counter() - started
        result = db.ingest(conn.config.name, batch)
        polls += 1
        if not result.has_more:
            return polls, fetching


def inject_stream(emulator: VkEmulator, n: int) -> None:
    for i in range(n):
        emulator.inject(
            {
                "text": f"Обращение номер {i}: на улице Садовой не горит фонарь у дома {i % 60 + 1}.",
                "author_id": 500_000 + i % 400,
            }
        )


def inject_wall(emulator: VkEmulator, posts: int, comments: int) -> None:
    for p in range(posts):
        post = emulator.inject(
            {
                "text": f"Пост жителя {p}: прошу отремонтировать дорогу.",
                "where": "post",
                "author_id": 600_000 + p,
            }
        )
        for c in range(comments):
            emulator.inject(
                {
                    "text": f"Комментарий {c} к посту {p}: поддерживаю.",
                    "where": "comment",
                    "post_id": post["post_id"],
                    "author_id": 700_000 + c,
                }
            )


async def stream(args: argparse.Namespace, tmp: Path) -> None:
    emulator = VkEmulator(long_poll_cap=0.5, lp_history=args.events + 10)
    with serving(emulator) as server:
        db = Database.connect(f"sqlite:///{tmp / 'stream.db'}")
        conn = connector(server.url, emulator)
        await drain(conn, db)  # take the stream's position
        server.call(inject_stream, emulator, args.events)
        started = time.perf_counter()
        polls, fetching = await drain(conn, db)
        elapsed = time.perf_counter() - started
        stored = db.count_messages("vk:bench")
        print(
            f"long poll: {stored} messages in {polls} polls; fetch+map {stored / fetching:,.0f} messages/s, "
            f"end to end with the SQLite store {stored / elapsed:,.0f} messages/s ({elapsed:.2f} s)"
        )
        await conn.aclose()
        db.dispose()


async def reconciliation(args: argparse.Namespace, tmp: Path) -> None:
    emulator = VkEmulator(long_poll_cap=0.5)
    with serving(emulator) as server:
        db = Database.connect(f"sqlite:///{tmp / 'reconcile.db'}")
        conn = connector(server.url, emulator)
        await drain(conn, db)
        server.call(inject_wall, emulator, args.posts, args.comments)
        server.call(emulator.drop_history)
        emulator.peak_rps.clear()
        calls_before = sum(emulator.by_method.values())
        started = time.perf_counter()
        await drain(conn, db)
        elapsed = time.perf_counter() - started
        got = db.count_messages("vk:bench")
        calls = sum(emulator.by_method.values()) - calls_before
        print(
            f"reconciliation after failed=1: {got} messages in {elapsed:.2f} s = {got / elapsed:,.0f} messages/s; "
            f"{calls} method calls = {calls / elapsed:.2f} calls/s"
        )
        for kind in ("community", "service", "user"):
            if emulator.peak_rps[kind]:
                print(
                    f"  most requests within 1 s, {kind} token: {emulator.peak_rps[kind]} "
                    f"(VK's limit {emulator.limits[kind]})"
                )
        print(f"  error 6 answered by the emulator: {emulator.rate_limited}")
        await conn.aclose()
        db.dispose()


async def replies(args: argparse.Namespace) -> None:
    """Workers answering a backlog at once: every send waits for the community token's limiter."""
    emulator = VkEmulator(flood_per_minute=10_000)  # flood control is per content; not measured here
    with serving(emulator) as server:
        conn = connector(server.url, emulator)
        made = server.call(
            lambda: [
                emulator.inject({"text": f"Вопрос {i}", "where": "comment", "author_id": 800_000 + i})
                for i in range(args.replies)
            ]
        )
        emulator.peak_rps.clear()
        started = time.perf_counter()
        await asyncio.gather(
            *(
                conn.send(
                    Reply(
                        id=f"bench-{c['id']}",
                        source="vk:bench",
                        platform="vk",
                        text="Здравствуйте! Проверим и ответим.",
                        thread=Thread(
                            kind="wall", ids={k: c[k] for k in ("owner_id", "post_id", "comment_id")}
                        ),
                    )
                )
                for c in made
            )
        )
        elapsed = time.perf_counter() - started
        print(
            f"replies: {len(emulator.replies)} wall.createComment at once in {elapsed:.2f} s = "
            f"{len(emulator.replies) / elapsed:.1f}/s; most requests within 1 s: {emulator.peak_rps['community']} "
            f"(VK's limit {emulator.limits['community']}); error 6: {emulator.rate_limited}"
        )
        await conn.aclose()


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await stream(args, Path(tmp))
        await reconciliation(args, Path(tmp))
        await replies(args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--posts", type=int, default=15)
    parser.add_argument("--comments", type=int, default=40)
    parser.add_argument("--replies", type=int, default=100)
    asyncio.run(main(parser.parse_args()))
