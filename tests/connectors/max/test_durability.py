"""MAX under stress: a poller SIGKILLed at random moments loses nothing (the marker is stored with
the batch, and confirmed to MAX only by the next request), and a burst of replies from two workers
sharing the Redis limiter gets no 429 from the emulator."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time

import redis

from connectors.base import SourceConfig
from connectors.max.connector import MaxConnector
from otklik.models import Reply, Thread
from sandbox.max.emulator import GROUP, TOKEN, MaxEmulator
from sandbox.runner import serving
from storage.db import Database
from workers.ratelimit import RedisLimiter

POLLER = """
import asyncio, sys
from connectors.base import SourceConfig
from connectors.max.connector import MaxConnector
from otklik.poller import poll_once
from storage.db import Database

async def main(url, database_url):
    db = Database.connect(database_url)
    conn = MaxConnector(SourceConfig(name="max", platform="max", base_url=url, secrets={"token": sys.argv[3]},
                                     options={"poll_timeout": 0, "limit": 7, "retry_backoff": 0.01}))
    while True:
        await poll_once(conn, db)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def test_no_message_lost_or_doubled_when_the_poller_is_killed(database_url):
    emulator = MaxEmulator(long_poll_cap=0.1)
    rnd = random.Random(11)
    db = Database.connect(database_url)
    with serving(emulator) as server:
        sent = 0

        def start():
            return subprocess.Popen([sys.executable, "-c", POLLER, server.url, database_url, TOKEN],
                                    env={**os.environ}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        proc = start()
        try:
            for _round in range(6):
                for _ in range(40):
                    where = rnd.choice(["dialog", "chat", "channel_comment"])
                    server.call(emulator.inject, {"text": f"Обращение {sent}: нет света", "chat": where})
                    sent += 1
                time.sleep(rnd.uniform(0.3, 1.2))
                proc.send_signal(signal.SIGKILL)  # mid-poll, mid-store, or between the two
                proc.wait(10)
                proc = start()
            deadline = time.monotonic() + 60
            while db.count_messages("max") < sent and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        assert db.count_messages("max") == sent  # every message once: stored twice would be more
        # Whatever the kills interrupted, the stored marker covers every update.
        assert int(db.get_cursor("max")) == server.call(lambda: emulator.world.log.next_seq)
    db.dispose()


async def test_a_burst_of_replies_from_two_workers_gets_no_429(redis_url):
    emulator = MaxEmulator(long_poll_cap=0.1)
    shared = RedisLimiter(redis.Redis.from_url(redis_url))
    with serving(emulator) as server:
        users = [server.call(emulator.inject, {"text": f"вопрос {i}", "author_id": 700 + i}) for i in range(30)]
        in_chat = [server.call(emulator.inject, {"text": f"в чате {i}", "chat": "chat"}) for i in range(6)]

        def worker() -> MaxConnector:
            return MaxConnector(SourceConfig(name="max", platform="max", base_url=server.url,
                                             secrets={"token": TOKEN}, options={"poll_timeout": 0}),
                                limiter=shared)

        a, b = worker(), worker()
        replies = [Reply(id=f"u{i}", source="max", platform="max", text="Здравствуйте! Ответ.",
                         thread=Thread(kind="dialog", ids={"user_id": u["user_id"], "mid": u["mid"]}))
                   for i, u in enumerate(users)]
        replies += [Reply(id=f"c{i}", source="max", platform="max", text="Здравствуйте! Ответ в чате.",
                          thread=Thread(kind="chat", ids={"chat_id": GROUP["chat_id"], "mid": c["mid"]}))
                    for i, c in enumerate(in_chat)]
        # Two workers, each sending its share twice over (a retry storm), all at once.
        jobs = [(a if i % 2 else b).send(r) for i, r in enumerate(replies + replies)]
        results = await asyncio.gather(*jobs, return_exceptions=True)
        assert not [r for r in results if isinstance(r, Exception)], emulator.rate_limited_by
        assert emulator.rate_limited == 0 and len(emulator.replies) == 2 * len(replies)
        await a.aclose()
        await b.aclose()
