"""MAX ingest throughput against the emulator, and the request rates the emulator saw.

    .venv/bin/python bench/ingest_max.py [--messages 5000] [--replies 60] [--workers 2]

1. A backlog of citizens' messages (dialogs, the residents' chat, channel comments) is drained by
   `poll_once` into a SQLite database: messages stored per second, and requests per second as the
   emulator counted them (every request counts against MAX's 30 per second per bot, polls included).
2. Replies are sent by `--workers` connectors sharing one Redis limiter (as RQ workers do) to many
   dialogs and to one chat: the busiest second the emulator saw must stay within MAX's 30 requests
   per second, no chat may get more than 2 messages within a second, and the emulator must answer
   no 429.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import redis

from connectors.base import SourceConfig
from connectors.max.connector import MaxConnector
from otklik.models import Reply, Thread
from otklik.poller import poll_once
from sandbox.base import busiest_second
from sandbox.max.emulator import GROUP, OVERALL_PER_SECOND, PER_CHAT_PER_SECOND, TOKEN, MaxEmulator
from sandbox.runner import serving
from storage.db import Database
from workers import embedded_redis
from workers.ratelimit import RedisLimiter

WHERE = ("dialog", "dialog", "chat", "channel_comment")


def inject_backlog(emulator: MaxEmulator, n: int, offset: int = 0) -> list[dict]:
    return [emulator.inject({"text": f"Обращение {i}: не горит фонарь у дома {i % 90 + 1}.",
                             "author_id": 200_000 + (offset + i) % 700, "chat": WHERE[i % len(WHERE)]})
            for i in range(n)]


def connector(url: str, limiter=None, **options) -> MaxConnector:
    cfg = SourceConfig(name="max", platform="max", base_url=url, secrets={"token": TOKEN},
                       options={"poll_timeout": 0, "limit": 100, **options})
    return MaxConnector(cfg, limiter=limiter)


async def fetch_only(conn: MaxConnector, expected: int) -> float:
    """The connector and the emulator alone: fetch and map every page, confirming as we go."""
    started = time.perf_counter()
    cursor, seen = None, 0
    while seen < expected:
        batch = await conn.fetch(cursor)
        seen += len(batch.messages)
        cursor = batch.next_cursor or cursor
    await conn.fetch(cursor)  # confirm the last page
    return time.perf_counter() - started


async def drain(conn: MaxConnector, db: Database, expected: int) -> tuple[float, int]:
    started = time.perf_counter()
    polls = 0
    while db.count_messages(conn.config.name) < expected:
        await poll_once(conn, db)
        polls += 1
    return time.perf_counter() - started, polls


async def send_all(workers: list[MaxConnector], replies: list[Reply]) -> float:
    started = time.perf_counter()
    await asyncio.gather(*(workers[i % len(workers)].send(r) for i, r in enumerate(replies)))
    return time.perf_counter() - started


def reply(i: int, created: dict, kind: str) -> Reply:
    ids = ({"user_id": created["user_id"], "mid": created["mid"]} if kind == "dialog"
           else {"chat_id": created["chat_id"], "mid": created["mid"]})
    return Reply(id=f"bench-{i}", source="max", platform="max", thread=Thread(kind=kind, ids=ids),
                 text="Здравствуйте! Обращение принято, ответим в срок.")


async def main_async(messages: int, replies: int, n_workers: int, redis_dir: Path) -> None:
    emulator = MaxEmulator(long_poll_cap=0.0)
    url_redis = embedded_redis.ensure_running(redis_dir)
    shared = RedisLimiter(redis.Redis.from_url(url_redis))
    with serving(emulator) as server, tempfile.TemporaryDirectory() as tmp:
        db = Database.connect(f"sqlite:///{Path(tmp) / 'bench.db'}")
        server.call(inject_backlog, emulator, messages)
        poller = connector(server.url, limiter=shared)
        seconds = await fetch_only(poller, messages)
        print(f"fetch+map (connector and emulator): {messages} messages in {seconds:.2f} s = "
              f"{messages / seconds:.0f} messages/s")
        created = server.call(inject_backlog, emulator, messages, messages)
        expected = sum(1 for c in created if "mid" in c)
        before = len(emulator.calls)
        seconds, polls = await drain(poller, db, expected)
        calls = [t for t, _ in list(emulator.calls)[before:]]
        print(f"poll_once into SQLite: {expected} messages in {seconds:.2f} s = {expected / seconds:.0f} "
              f"messages stored/s ({polls} polls of up to 100 updates)")
        print(f"requests while draining: {len(calls) / seconds:.1f}/s on average, busiest second "
              f"{busiest_second(calls)} (MAX allows {OVERALL_PER_SECOND}/s per bot)")

        dialogs, seen = [], set()
        for c in created:
            if c["chat_id"] > 0 and c["user_id"] not in seen:
                seen.add(c["user_id"])
                dialogs.append(c)
        in_chat = [c for c in created if c["chat_id"] == GROUP["chat_id"]][:10]
        batch = [reply(i, c, "dialog") for i, c in enumerate(dialogs[:replies])]
        batch += [reply(10_000 + i, c, "chat") for i, c in enumerate(in_chat)]
        workers = [connector(server.url, limiter=shared) for _ in range(n_workers)]
        before = len(emulator.calls)
        seconds = await send_all(workers, batch)
        calls = [t for t, _ in list(emulator.calls)[before:]]
        sent_at = [r["received_at"] for r in emulator.replies]
        per_chat = max(busiest_second([r["received_at"] for r in emulator.replies if r["chat_id"] == chat])
                       for chat in {r["chat_id"] for r in emulator.replies})
        print(f"{len(batch)} replies ({len(dialogs[:replies])} dialogs, {len(in_chat)} in one chat) from "
              f"{n_workers} workers sharing the Redis limiter: {seconds:.2f} s = {len(batch) / seconds:.1f} replies/s")
        print(f"as the emulator saw them: peak {busiest_second(calls)} requests/s and {busiest_second(sent_at)} "
              f"messages/s (limit {OVERALL_PER_SECOND}); most in one chat within a second {per_chat} "
              f"(limit {PER_CHAT_PER_SECOND}); 429 answers {emulator.rate_limited}")
        for c in (poller, *workers):
            await c.aclose()
        db.dispose()
    embedded_redis.stop(redis_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--replies", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as redis_dir:
        asyncio.run(main_async(args.messages, args.replies, args.workers, Path(redis_dir)))


if __name__ == "__main__":
    main()
