"""`otklik worker` as a process: it says when it starts (without the Redis password), what became
of each job (no text) and when it stops; told to stop while Redis is unreachable, it exits in
seconds instead of waiting for Redis forever."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import redis
from rq import Queue

from workers import embedded_redis
from workers.queue import PUBLISH, safe_url


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def log_lines(path: Path) -> list[dict]:
    lines = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            lines.append({"raw": line})
    return lines


def start_worker(tmp_path: Path, database_url: str, redis_url: str, *args: str) -> tuple[subprocess.Popen, Path]:
    config = tmp_path / "otklik.toml"
    config.write_text('profile = "severny"\n', encoding="utf-8")
    env = {**os.environ, "OTKLIK_VAR_DIR": str(tmp_path), "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "OTKLIK_CONFIG": str(config), "PYTHONFAULTHANDLER": "1"}  # a hang, SIGABRTed, shows where
    log = tmp_path / "worker.log"
    out = log.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "otklik", "worker", *args], env=env, stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)
    return proc, log


@pytest.mark.parametrize("outage", [1.5, 6.0])
def test_sigterm_while_redis_is_unreachable_exits_within_10s(tmp_path, database_url, outage):
    home = Path(tempfile.mkdtemp(prefix="otk-w"))  # our own server, on a short socket path: we kill it
    url = embedded_redis.ensure_running(home)
    proc, log = start_worker(tmp_path, database_url, url)
    try:
        wait_for(lambda: any(e.get("msg") == "worker started" for e in log_lines(log)))
        wait_for(lambda: len(redis.Redis.from_url(url).smembers("rq:workers")) == 1)
        os.kill(int((home / "redis" / "redis.pid").read_text()), signal.SIGKILL)  # Redis goes away
        time.sleep(outage)  # the worker is now waiting for it (RQ's loop or ours)
        assert proc.poll() is None
        before = log.stat().st_size  # RQ logs the outage itself, tracebacks included; not our concern
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            time.sleep(1)
            raise AssertionError(f"still running 15 s after SIGTERM:\n{log.read_text()[-5000:]}") from None
        took = time.monotonic() - sent
        assert took < 10, f"exited {took:.1f}s after SIGTERM"
        assert rc == 0
        events = log_lines(log)
        assert events[-1].get("msg") == "worker stopped", events[-3:]
        assert "Traceback" not in log.read_bytes()[before:].decode(errors="replace")  # a clean stop
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        embedded_redis.stop(home)
        shutil.rmtree(home, ignore_errors=True)


def test_worker_logs_start_each_job_outcome_and_stop(tmp_path, database_url, redis_url):
    conn = redis.Redis.from_url(redis_url)
    outbox_id = str(uuid.uuid4())  # no such outbox row: the job answers "nothing to do"
    job = Queue(PUBLISH, connection=conn).enqueue("workers.jobs.publish_reply", outbox_id)
    proc, log = start_worker(tmp_path, database_url, redis_url, "--burst")
    try:
        assert proc.wait(60) == 0, log.read_text()[-2000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            print(log.read_text()[-3000:])
    events = log_lines(log)
    started = next(e for e in events if e.get("msg") == "worker started")
    assert started["queues"] == ["publish", "default"] and started["redis"] == safe_url(redis_url)
    done = [e for e in events if e.get("msg") == "job done"]
    assert [(e["job"], e["outcome"], e["function"]) for e in done] == [(job.id, "nothing to do", "publish_reply")]
    assert events[-1].get("msg") == "worker stopped"


def test_safe_url_hides_the_password():
    assert safe_url("redis://otklik:s3cret@redis:6379/0") == "redis://otklik:***@redis:6379/0"
    assert "s3cret" not in safe_url("redis://:s3cret@redis:6379/0")


def test_sigterm_right_after_start_exits(tmp_path, database_url, redis_url):
    """A stop request that lands while RQ is still setting up (its scheduler child already forked,
    its signal handlers not yet installed) must not leave the process waiting for that child."""
    rng = random.Random(5)
    for attempt in range(5):
        proc, log = start_worker(tmp_path, database_url, redis_url)
        try:
            wait_for(lambda log=log: b"worker started" in log.read_bytes())
            time.sleep(rng.uniform(0.0, 0.3))
            proc.send_signal(signal.SIGTERM)
            try:
                assert proc.wait(20) == 0, f"attempt {attempt}"
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGABRT)
                time.sleep(1)
                raise AssertionError(f"attempt {attempt}: still running 20 s after SIGTERM:\n"
                                     f"{log.read_text()[-5000:]}") from None
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
