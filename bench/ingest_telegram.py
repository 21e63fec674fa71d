"""Telegram ingest throughput against the emulator, and the request rates the emulator saw.

    .venv/bin/python bench/ingest_telegram.py [--messages 5000] [--replies 60]

1. A backlog of citizens' messages (private chats, the residents' group, channel comments) is
   drained by `poll_once` into a SQLite database: messages/s, and getUpdates requests per second
   as the emulator counted them (Telegram publishes no getUpdates limit; one poller per token, and
   each poll waits for the previous one, so the rate is bounded by the round trip).
2. Replies are sent through the connector's limiter to many chats and one group: the busiest
   second the emulator saw must stay within Telegram's 30 messages/s, no chat may get two messages
   within a second, and the emulator must answer no 429.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from connectors.base import SourceConfig
from connectors.telegram.connector import TelegramConnector
from otklik.models import Reply, Thread
from otklik.poller import poll_once
from sandbox.base import busiest_second
from sandbox.runner import serving
from sandbox.telegram.emulator import GROUP, TOKEN, TelegramEmulator
from storage.db import Database

WHERE = ("private", "private", "group", "channel_comment")


def inject_backlog(emulator: TelegramEmulator, n: int) -> list[dict]:
    return [
        emulator.inject(
            {
                "text": f"Обращение {i}: не горит фонарь у дома {i % 90 + 1}.",
                "author_id": 200_000 + i % 700,
                "chat": WHERE[i % len(WHERE)],
            }
        )
        for i in range(n)
    ]


async def drain(conn: TelegramConnector, db: Database, expected: int) -> tuple[float, int]:
    """poll_once until every message is stored: fetch, map, store with the cursor."""
    started = time.perf_counter()
    polls = 0
    while db.count_messages(conn.config.name) < expected:
        await poll_once(conn, db)
        polls += 1
    return time.perf_counter() - started, polls


async def fetch_only(conn: TelegramConnector, expected: int) -> float:
    """The connector and the emulator alone: fetch and map every page, confirming as we go."""
    started = time.perf_counter()
    cursor, seen = None, 0
    while seen < expected:
        batch = await conn.fetch(cursor)
        seen += len(batch.messages)
        cursor = batch.next_cursor or cursor
    await conn.fetch(cursor)  # confirm the last page
    return time.perf_counter() - started


async def send_replies(conn: TelegramConnector, targets: list[dict]) -> float:
    async def one(i: int, created: dict) -> None:
        await conn.send(
            Reply(
                id=f"bench-{i}",
                source=conn.config.name,
                platform="telegram",
                text="Здравствуйте! Обращение принято, ответим в срок.",
                thread=Thread(
                    kind="chat", ids={"chat_id": created["chat_id"], "message_id": created["message_id"]}
                ),
            )
        )

    started = time.perf_counter()
    await asyncio.gather(*(one(i, t) for i, t in enumerate(targets)))
    return time.perf_counter() - started


async def main_async(messages: int, replies: int) -> None:
    emulator = TelegramEmulator()
    with serving(emulator) as server, tempfile.TemporaryDirectory() as tmp:
        db = Database.connect(f"sqlite:///{Path(tmp) / 'bench.db'}")
        created = server.call(inject_backlog, emulator, messages)
        expected = sum(1 for c in created if c["update_id"] is not None)
        conn = TelegramConnector(
            SourceConfig(
                name="tg",
                platform="telegram",
                base_url=server.url,
                secrets={"token": TOKEN},
                options={"poll_timeout": 0},
            )
        )
        seconds = await fetch_only(conn, expected)
        print(
            f"fetch+map (connector and emulator): {expected} messages in {seconds:.2f} s = "
            f"{expected / seconds:.0f} messages/s"
        )
        server.call(inject_backlog, emulator, messages)
        before = len(emulator.calls)
        seconds, polls = await drain(conn, db, expected)
        poll_times = [t for t, m in list(emulator.calls)[before:] if m == "getupdates"]
        print(
            f"poll_once into SQLite: {expected} messages in {seconds:.2f} s = {expected / seconds:.0f} messages/s "
            f"({polls} polls of up to 100 updates)"
        )
        print(
            f"getUpdates while draining: {len(poll_times) / seconds:.1f} requests/s on average, busiest second "
            f"{busiest_second(poll_times)} (one poller; each poll waits for the previous to be stored)"
        )

        private = [c for c in created if c["chat_id"] > 0]
        seen: set[int] = set()
        targets = [c for c in private if not (c["chat_id"] in seen or seen.add(c["chat_id"]))][:replies]
        seconds = await send_replies(conn, targets)
        print(f"send to {len(targets)} chats at once: {len(targets) / seconds:.1f} replies/s")
        group = [c for c in created if c["chat_id"] == GROUP["id"]][:5]
        seconds = await send_replies(conn, group)
        print(f"send 5 replies in one group at once: {seconds:.1f} s (1 message/s per chat)")
        sent_at = [r["received_at"] for r in emulator.replies]
        per_chat = [
            busiest_second([r["received_at"] for r in emulator.replies if r["chat_id"] == chat])
            for chat in {r["chat_id"] for r in emulator.replies}
        ]
        print(
            f"as the emulator saw them: busiest second {busiest_second(sent_at)} messages (Telegram allows 30); "
            f"most in one chat within a second {max(per_chat)} (allowed 1); 429 answers {emulator.rate_limited}"
        )
        await conn.aclose()
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--replies", type=int, default=60)
    args = parser.parse_args()
    asyncio.run(main_async(args.messages, args.replies))


if __name__ == "__main__":
    main()
