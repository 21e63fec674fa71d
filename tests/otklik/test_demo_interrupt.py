"""Ctrl-C twice in `otklik demo` (an impatient person) leaves nothing running: not the daemon, the
worker, RQ's scheduler, the emulators, nor the embedded Redis."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from workers import embedded_redis


def wait_for(predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


def alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_double_ctrl_c_leaves_no_process_behind():
    var = Path(tempfile.mkdtemp(prefix="otk-i")) / "var"  # short: the embedded Redis socket lives here
    demo = subprocess.Popen([sys.executable, "-m", "otklik", "demo", "--duration", "120", "--quiet",
                             "--var-dir", str(var)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    parent = psutil.Process(demo.pid)
    family: list[psutil.Process] = []
    try:
        # Up and working: the daemon and the worker registered with the embedded Redis, the
        # worker's scheduler forked.
        wait_for(lambda: len(list((var / "run").glob("*.pid"))) == 2 and len(parent.children(recursive=True)) >= 3)
        time.sleep(2.0)
        family = parent.children(recursive=True)
        server = psutil.Process(int((var / "redis" / "redis.pid").read_text()))
        assert alive(server) and all(alive(p) for p in family)

        demo.send_signal(signal.SIGINT)
        time.sleep(0.3)
        demo.send_signal(signal.SIGINT)  # before the first one could finish shutting down
        rc = demo.wait(60)
        stderr = demo.stderr.read().decode(errors="replace")
        assert rc == 130, stderr[-2000:]
        wait_for(lambda: not any(alive(p) for p in [*family, server]), 10)
        assert not embedded_redis.socket_path(var).exists()
        leftovers = [p for p in psutil.process_iter(["cmdline"]) if str(var) in " ".join(p.info["cmdline"] or [])]
        assert leftovers == []
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
        for p in family + (parent.children(recursive=True) if alive(parent) else []):
            if alive(p):
                p.kill()
        embedded_redis.stop(var)
        shutil.rmtree(var.parent, ignore_errors=True)
