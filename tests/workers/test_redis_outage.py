"""Redis stopped and restarted mid-run, losing its data: the daemon keeps ingesting and routing,
approvals made meanwhile wait in the outbox, and every approved reply is posted exactly once
when Redis returns."""

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

from otklik.actor import Actor
from otklik.demo.run import free_port, kill_tree
from otklik.services import cases
from sandbox.registry import emulator_class
from sandbox.runner import serving
from storage.tables import CaseRow, OutboxRow
from workers import embedded_redis

# The curator at a terminal (no step-up: the CLI asks for the code every time).
CUR = Actor(login="cur", role="curator", via="cli")


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


def approve_all(db) -> int:
    n = 0
    with db.session() as s:
        for row in s.query(CaseRow).filter(CaseRow.state == "routed").all():
            cases.submit_draft(s, CUR, row.id, text="Здравствуйте! Сделаем на этой неделе, спасибо.")
            cases.approve(s, CUR, row.id)
            n += 1
    return n


def test_redis_restart_loses_no_approved_reply(tmp_path, db, database_url):
    redis_home = Path("/tmp") / f"otk-r-{uuid.uuid4().hex[:6]}"  # our own server: we stop it
    redis_url = embedded_redis.ensure_running(redis_home)
    emulator = emulator_class("telegram")()
    with serving(emulator) as tg:
        config = tmp_path / "otklik.toml"
        config.write_text(f'http_port = {free_port()}\nrelay_interval = 0.2\n[[sources]]\nname = "tg"\n'
                          f'platform = "telegram"\nbase_url = "{tg.url}"\npoll_interval = 0.3\n'
                          f'[sources.options]\npoll_timeout = 0\n', encoding="utf-8")
        env = {**os.environ, "OTKLIK_CONFIG": str(config), "DATABASE_URL": database_url, "REDIS_URL": redis_url,
               "OTKLIK_VAR_DIR": str(tmp_path), "OTKLIK_SECRET_TG_TOKEN": emulator.demo_secrets()["token"],
               "OTKLIK_LOST_JOB_AFTER": "2"}
        procs = [subprocess.Popen([sys.executable, "-m", "otklik", *cmd], env=env, start_new_session=True,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for cmd in (["run"], ["worker"])]
        try:
            inject = lambda text: tg.call(emulator.inject, {"text": text})  # noqa: E731
            inject("На улице Ленина яма на дороге, объехать невозможно")
            wait_for(lambda: approve_all(db) == 1)
            wait_for(lambda: len(emulator.replies) == 1)

            embedded_redis.stop(redis_home)  # Redis goes away...
            shutil.rmtree(redis_home / "redis")  # ...and comes back without its data
            for street in ("Садовой", "Мира", "Лесной"):
                inject(f"На улице {street} не горят фонари уже неделю")
            wait_for(lambda: approve_all(db) >= 1, 60)  # ingest and routing go on without Redis
            time.sleep(1.0)
            approve_all(db)
            with db.session() as s:
                waiting = s.query(OutboxRow).filter(OutboxRow.status != "posted").count()
            assert waiting == 3 and len(emulator.replies) == 1

            embedded_redis.ensure_running(redis_home)
            wait_for(lambda: len(emulator.replies) == 4, 90)
            time.sleep(2.0)
            assert len(emulator.replies) == 4  # none twice
            with db.session() as s:
                assert {r.status for r in s.query(OutboxRow)} == {"posted"}
        finally:
            for p in procs:
                kill_tree(p.pid)
            embedded_redis.stop(redis_home)
            shutil.rmtree(redis_home, ignore_errors=True)
