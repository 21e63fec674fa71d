"""Publishing throughput against the Telegram emulator's rate limit (30 messages/s overall), and
delivery latency from approval to post at low load.

    .venv/bin/python bench/publish_throughput.py [--replies 240] [--workers 2]

Prints: replies/s, the share of the platform's limit, 429 answers seen, and latency percentiles.
Runs on embedded SQLite and an embedded Redis in a temporary folder."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from otklik.demo.run import kill_tree  # noqa: E402
from otklik.relay import OutboxRelay  # noqa: E402
from sandbox.registry import emulator_class  # noqa: E402
from sandbox.runner import serving  # noqa: E402
from sandbox.seed import approved_reply  # noqa: E402
from storage import outbox  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.tables import OutboxRow  # noqa: E402
from workers import embedded_redis  # noqa: E402

TELEGRAM_LIMIT = 30.0


def approve(db: Database, thread: dict) -> None:
    with db.session() as s:
        approved_reply(s, source="tg", platform="telegram", thread=thread, text="Здравствуйте! Починим до пятницы.")


def posted(db: Database) -> list[OutboxRow]:
    with db.session() as s:
        return list(s.query(OutboxRow).filter(OutboxRow.status == "posted"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replies", type=int, default=240)
    ap.add_argument("--workers", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="otk-bench-", dir="/tmp"))
    redis_url = embedded_redis.ensure_running(tmp)
    db_url = f"sqlite:///{tmp / 'bench.db'}"
    db = Database.connect(db_url)
    emulator = emulator_class("telegram")()
    with serving(emulator) as tg:
        chats = [tg.call(emulator.inject, {"text": "вопрос", "author_id": 900_000 + i})
                 for i in range(args.replies + 20)]
        config = tmp / "otklik.toml"
        config.write_text(f'[[sources]]\nname = "tg"\nplatform = "telegram"\nbase_url = "{tg.url}"\n', encoding="utf-8")
        env = {**os.environ, "OTKLIK_CONFIG": str(config), "DATABASE_URL": db_url, "REDIS_URL": redis_url,
               "OTKLIK_SECRET_TG_TOKEN": emulator.demo_secrets()["token"], "OTKLIK_LOG_LEVEL": "WARNING"}
        workers = [subprocess.Popen([sys.executable, "-m", "otklik", "worker"], env=env, start_new_session=True,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for _ in range(args.workers)]
        relay = OutboxRelay(db, redis_url)
        stop = threading.Event()

        def relay_loop() -> None:
            while not stop.is_set():
                relay.step()
                stop.wait(0.05)

        threading.Thread(target=relay_loop, daemon=True).start()
        try:
            # Latency at low load: one approval every 0.5 s.
            for c in chats[:20]:
                approve(db, {"kind": "chat", "ids": {"chat_id": c["chat_id"], "message_id": c["message_id"]}})
                time.sleep(0.5)
            deadline = time.monotonic() + 60
            while len(posted(db)) < 20 and time.monotonic() < deadline:
                time.sleep(0.1)
            latencies = sorted(outbox.latency_seconds(r) for r in posted(db))
            # Throughput: a burst of approvals to different chats; only the overall limit binds.
            for c in chats[20:]:
                approve(db, {"kind": "chat", "ids": {"chat_id": c["chat_id"], "message_id": c["message_id"]}})
            started = time.monotonic()
            deadline = started + 120
            while len(posted(db)) < args.replies + 20 and time.monotonic() < deadline:
                time.sleep(0.05)
            elapsed = time.monotonic() - started
        finally:
            stop.set()
            for w in workers:
                kill_tree(w.pid)
        done = len(posted(db)) - 20
        rate = done / elapsed
        print(f"published {done}/{args.replies} replies in {elapsed:.1f} s with {args.workers} workers: "
              f"{rate:.1f} replies/s = {rate / TELEGRAM_LIMIT:.0%} of Telegram's {TELEGRAM_LIMIT:.0f}/s limit")
        print(f"429 answers from the platform: {emulator.rate_limited}; replies posted twice: "
              f"{len(emulator.replies) - len(set((r['chat_id'], r['reply_to']) for r in emulator.replies))}")
        print(f"approval-to-post latency at low load: median {statistics.median(latencies):.2f} s, "
              f"max {max(latencies):.2f} s (n={len(latencies)})")
    embedded_redis.stop(tmp)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
