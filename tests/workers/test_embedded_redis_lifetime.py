"""The embedded Redis lives as long as its users: the daemon and the workers of a var dir register,
the last one to exit shuts it down (a SIGKILLed user is seen as dead by the next one), and
`otklik stop` stops every daemon and worker of the var dir, then the embedded Redis."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from otklik.demo.run import free_port
from workers import embedded_redis


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


@pytest.fixture
def var():
    path = Path(tempfile.mkdtemp(prefix="otk-l"))  # short: unix socket paths are limited
    yield path
    embedded_redis.stop(path)
    shutil.rmtree(path, ignore_errors=True)


def env_for(var: Path) -> dict[str, str]:
    config = var / "otklik.toml"
    config.write_text(f'profile = "severny"\nhttp_port = {free_port()}\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return {**env, "OTKLIK_VAR_DIR": str(var), "OTKLIK_CONFIG": str(config)}


def spawn(var: Path, *cmd: str) -> subprocess.Popen:
    log = (var / "children.log").open("ab")
    return subprocess.Popen([sys.executable, "-m", "otklik", *cmd], env=env_for(var), stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def redis_pid(var: Path) -> int:
    return int((var / "redis" / "redis.pid").read_text())


def registered(var: Path) -> set[int]:
    return {int(p.name) for p in (var / "redis" / "users").glob("*")}


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_last_user_to_exit_stops_it_a_killed_user_does_not_keep_it(var):
    procs = [spawn(var, "worker") for _ in range(3)]
    try:
        wait_for(lambda: registered(var) == {p.pid for p in procs})
        server = redis_pid(var)
        procs[0].kill()  # SIGKILL: no chance to unregister
        procs[0].wait(10)
        procs[1].send_signal(signal.SIGTERM)
        # Generous: this test is about the Redis's lifetime; how fast a worker stops is
        # test_worker_process's (10 s), and a loaded machine can take longer to start and stop.
        assert procs[1].wait(60) == 0
        assert running(server)  # one user is left
        assert registered(var) == {procs[2].pid}  # the exiting user dropped the dead one
        procs[2].send_signal(signal.SIGTERM)
        assert procs[2].wait(60) == 0
        wait_for(lambda: not running(server), 15)
        assert not embedded_redis.socket_path(var).exists()
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)


def test_otklik_stop_stops_daemon_workers_and_the_embedded_redis(var):
    procs = [spawn(var, "run"), spawn(var, "worker"), spawn(var, "worker")]
    try:
        wait_for(lambda: len(list((var / "run").glob("*.pid"))) == 3 and registered(var) == {p.pid for p in procs})
        server = redis_pid(var)
        result = subprocess.run([sys.executable, "-m", "otklik", "stop"], env=env_for(var), capture_output=True,
                                text=True, timeout=90)
        assert result.returncode == 0, result.stderr
        assert result.stdout.count("stopping ") == 3
        assert [p.wait(5) for p in procs] == [0, 0, 0]
        assert not running(server)
        assert list((var / "run").glob("*.pid")) == []
        again = subprocess.run([sys.executable, "-m", "otklik", "stop"], env=env_for(var), capture_output=True,
                               text=True, timeout=60)
        assert again.returncode == 0 and "nothing was running" in again.stdout
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
