"""«Кузбасс Онлайн» under stress: a poller SIGKILLed at random moments loses no appeal (the cursor is
stored with the batch, after the appeals are taken into work), and a burst of answers from two
workers sharing the Redis limiter gets no 429 from the emulator's 5 requests per second."""

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
from connectors.kuzbass_online.connector import KuzbassOnlineConnector
from otklik.models import Platform, Reply, Thread
from sandbox.kuzbass_online.emulator import ORGANISATION, TOKEN, KuzbassOnlineEmulator, decode_cursor
from sandbox.runner import serving
from storage.db import Database
from workers.ratelimit import RedisLimiter

POLLER = """
import asyncio, sys
from connectors.base import SourceConfig
from connectors.kuzbass_online.connector import KuzbassOnlineConnector
from otklik.poller import poll_once
from storage.db import Database

async def main(url, database_url):
    db = Database.connect(database_url)
    conn = KuzbassOnlineConnector(SourceConfig(
        name="ko", platform="kuzbass_online", base_url=url, secrets={"token": sys.argv[3]},
        options={"limit": 7, "rps": 3, "retry_wait": 0.01, "executor": sys.argv[4]}))
    while True:
        await poll_once(conn, db)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def test_no_appeal_lost_or_left_untaken_when_the_poller_is_killed(database_url):
    emulator = KuzbassOnlineEmulator()
    rnd = random.Random(20)
    db = Database.connect(database_url)
    with serving(emulator) as server:
        sent = 0

        def start():
            return subprocess.Popen([sys.executable, "-c", POLLER, server.url, database_url, TOKEN, ORGANISATION],
                                    env={**os.environ}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def settled() -> bool:
            taken = server.call(lambda: all(a["status"] == "in_work" for a in emulator.world.appeals.values()))
            cursor = db.get_cursor("ko")
            return (db.count_messages("ko") == sent and taken and cursor is not None
                    and decode_cursor(cursor) == server.call(lambda: emulator.world.seq))

        proc = start()
        try:
            for _round in range(5):
                for _ in range(12):
                    server.call(emulator.inject, {"text": f"Обращение {sent}: яма во дворе"})
                    sent += 1
                time.sleep(rnd.uniform(0.3, 1.5))
                proc.send_signal(signal.SIGKILL)  # mid-fetch, mid-take, mid-store or between them
                proc.wait(10)
                proc = start()
            deadline = time.monotonic() + 90
            while not settled() and time.monotonic() < deadline:
                time.sleep(0.3)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        assert db.count_messages("ko") == sent  # every appeal stored (once: external ids are unique)
        # 004 §2.3: every appeal was taken into work, whichever step the kills interrupted,
        assert server.call(lambda: sorted({a["status"] for a in emulator.world.appeals.values()})) == ["in_work"]
        # and the stored cursor covers every change the platform made, the takes included.
        assert decode_cursor(db.get_cursor("ko")) == server.call(lambda: emulator.world.seq)
    db.dispose()


async def test_a_burst_of_answers_from_two_workers_gets_no_429(redis_url):
    emulator = KuzbassOnlineEmulator()
    shared = RedisLimiter(redis.Redis.from_url(redis_url))
    with serving(emulator) as server:
        ids = [server.call(emulator.inject, {"text": f"вопрос {i}"})["id"] for i in range(12)]
        take = {"category": "Дороги", "subcategory": "Ямы", "executor": ORGANISATION}
        for i in ids:  # answers go only to appeals in work (004 §2.3)
            server.call(emulator.world.take, i, take)

        def worker() -> KuzbassOnlineConnector:
            return KuzbassOnlineConnector(SourceConfig(
                name="ko", platform="kuzbass_online", base_url=server.url, secrets={"token": TOKEN},
                options={"retry_wait": 0, "executor": ORGANISATION}), limiter=shared)

        a, b = worker(), worker()
        replies = [Reply(id=f"a{i}", source="ko", platform=Platform.KUZBASS_ONLINE, outcome="разъяснено",
                         text="Здравствуйте! Разъясняем порядок.", thread=Thread(kind="appeal", ids={"appeal_id": i}))
                   for i in ids]
        # Two workers, each answer sent twice over (a retry storm), all at once.
        jobs = [(a if k % 2 else b).send(r) for k, r in enumerate(replies + replies)]
        results = await asyncio.gather(*jobs, return_exceptions=True)
        assert not [r for r in results if isinstance(r, Exception)]
        assert emulator.rate_limited == 0
        # Each appeal answered once: the retry storm's second sends are recognised by Idempotency-Key.
        assert server.call(lambda: sorted(emulator.world.appeals[i]["status"] for i in ids)) == ["explained"] * len(ids)
        await a.aclose()
        await b.aclose()
