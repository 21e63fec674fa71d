"""/healthz tells the truth: a database that answers SELECT but takes no writes (full, read-only)
fails the service; so do replies waiting in the publish queue with no worker taking them. A source
in trouble only degrades it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import httpx
import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer
from rq import Queue
from sqlalchemy import event

from otklik import health, http
from otklik.daemon import Daemon
from otklik.demo.run import free_port
from otklik.settings import Settings
from storage.db import Database
from tests.otklik.waiting import wait_for
from workers.queue import PUBLISH

PG = bool(os.environ.get("DATABASE_URL"))


def read_only_url(database_url: str) -> str:
    assert database_url.startswith("postgresql")
    # One libpq `options` string may carry several -c settings; the fixture's holds the schema.
    if "options=" in database_url:
        return database_url.replace("options=", "options=-cdefault_transaction_read_only%3Don%20", 1)
    sep = "&" if "?" in database_url else "?"
    return f"{database_url}{sep}options=-cdefault_transaction_read_only%3Don"


def make_read_only(db: Database) -> None:
    """SQLite: every new connection refuses writes (SQLITE_READONLY), as a read-only file would."""
    event.listen(db.engine, "connect", lambda conn, _: conn.execute("PRAGMA query_only=ON"))
    db.engine.dispose()


def make_full(db: Database) -> None:
    """SQLite: the file may not grow by one page (a real SQLITE_FULL, as on a full disk)."""
    def cap(conn, _):
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count={pages}")

    event.listen(db.engine, "connect", cap)
    db.engine.dispose()


def test_probe_writes_on_a_healthy_database(db):
    state = health.probe_write(db)
    assert (state.state, state.error) == ("ok", None)
    assert health.probe_write(db).writable  # and again: the heartbeat row is updated, not added


@pytest.mark.skipif(PG, reason="SQLite's page limit")
def test_probe_sees_a_full_sqlite_database(db):
    make_full(db)
    with db.session() as s:  # reading still works: a SELECT-only health check would say ok
        s.execute(__import__("sqlalchemy").text("SELECT count(*) FROM messages")).scalar()
    state = health.probe_write(db)
    assert state.state == "unwritable" and "full" in state.error


def test_probe_sees_a_read_only_database(db, database_url):
    if PG:
        ro = Database.connect(read_only_url(database_url), migrate=False)
    else:
        ro = Database.connect(database_url, migrate=False)
        make_read_only(ro)
    try:
        assert ro.ping() or not PG  # our SQLite transactions begin IMMEDIATE: even reads need a writable file
        state = health.probe_write(ro)
        assert state.state == "read_only", state
    finally:
        ro.dispose()


@pytest.mark.skipif(PG, reason="SQLite's page limit")
async def test_healthz_fails_on_a_full_database(db, tmp_path, redis_url):
    daemon = Daemon(Settings(var_dir=tmp_path))
    daemon.db = db
    daemon.redis = redis.Redis.from_url(redis_url)
    async with TestClient(TestServer(http.build_app(daemon))) as client:
        await daemon.probe_database()
        r = await client.get("/healthz")
        assert r.status == 200 and (await r.json())["database"] == "ok"
        make_full(db)
        await daemon.probe_database()
        r = await client.get("/healthz")
        body = await r.json()
        assert r.status == 503
        assert body["status"] == "failing" and body["database"] == "unwritable" and "full" in body["database_error"]
        metrics = await (await client.get("/metrics")).text()
        assert "otklik_database_writable 0.0" in metrics


def test_overall_status():
    ok_write, ok_queue = health.WriteState("ok"), health.QueueState("ok", 0, 0.0)
    assert health.overall(True, ok_write, ok_queue, True, {"tg": {"status": "ok"}}) == ("ok", 200)
    for status in ("degraded", "stalled", "auth_failed", "failing"):
        assert health.overall(True, ok_write, ok_queue, True, {"tg": {"status": status}}) == ("degraded", 200)
    assert health.overall(True, ok_write, ok_queue, False, {}) == ("degraded", 200)
    assert health.overall(True, health.WriteState("read_only"), ok_queue, True, {}) == ("failing", 503)
    assert health.overall(True, ok_write, health.QueueState("stalled", 3, 200.0), True, {}) == ("failing", 503)
    assert health.overall(False, ok_write, ok_queue, True, {}) == ("failing", 503)


def daemon_env(tmp_path, database_url, redis_url, port, **extra) -> dict[str, str]:
    config = tmp_path / "otklik.toml"
    config.write_text(f'http_port = {port}\nrelay_interval = 0.2\n', encoding="utf-8")
    return {**os.environ, "OTKLIK_CONFIG": str(config), "OTKLIK_VAR_DIR": str(tmp_path),
            "DATABASE_URL": database_url, "REDIS_URL": redis_url, **extra}


def test_publish_queue_with_no_worker_fails_until_a_worker_comes(tmp_path, db, database_url, redis_url):
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    env = daemon_env(tmp_path, database_url, redis_url, port, OTKLIK_QUEUE_LAG_LIMIT="2")
    log = (tmp_path / "children.log").open("wb")
    procs = [subprocess.Popen([sys.executable, "-m", "otklik", "run"], env=env, stdout=log, stderr=subprocess.STDOUT)]
    try:
        body = wait_for(lambda: httpx.get(f"{api}/healthz").json(), 60)
        assert body["status"] == "ok" and body["queue"] == "ok" and body["workers"] == []
        # A reply's job waits and nobody takes it (no such outbox row: a worker will find nothing to do).
        Queue(PUBLISH, connection=redis.Redis.from_url(redis_url)).enqueue("workers.jobs.publish_reply",
                                                                          str(uuid.uuid4()))
        r = wait_for(lambda: (r := httpx.get(f"{api}/healthz")).status_code == 503 and r, 30)
        body = r.json()
        assert body["status"] == "failing" and body["queue"] == "stalled"
        assert body["queue_waiting"] == 1 and body["queue_lag_seconds"] > 2 and body["workers"] == []

        procs.append(subprocess.Popen([sys.executable, "-m", "otklik", "worker"], env=env, stdout=log,
                                      stderr=subprocess.STDOUT))
        r = wait_for(lambda: (r := httpx.get(f"{api}/healthz")).status_code == 200 and r.json()["queue_waiting"] == 0
                     and r, 60)
        body = r.json()
        assert body["queue"] == "ok" and body["status"] == "ok"
        [worker] = body["workers"]
        assert worker["name"] and worker["last_heartbeat"] and worker["state"] in ("idle", "busy", "started")
        metrics = httpx.get(f"{api}/metrics").text
        assert "otklik_workers_alive 1.0" in metrics and "otklik_database_writable 1.0" in metrics
        assert "otklik_worker_last_heartbeat_seconds" in metrics
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.mark.skipif(not PG, reason="PostgreSQL's default_transaction_read_only")
def test_daemon_on_a_read_only_postgresql_answers_503(tmp_path, db, database_url, redis_url):
    port = free_port()
    env = daemon_env(tmp_path, read_only_url(database_url), redis_url, port)
    proc = subprocess.Popen([sys.executable, "-m", "otklik", "run"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        r = wait_for(lambda: (r := httpx.get(f"http://127.0.0.1:{port}/healthz")) and r, 60)
        assert r.status_code == 503
        assert r.json()["database"] == "read_only" and r.json()["status"] == "failing"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
