"""The embedded Redis is started by whichever process needs it first; the daemon and the workers
start together (the demo does), so several processes may ask at the same instant."""

from __future__ import annotations

import multiprocessing
import os
import signal
import tempfile
from pathlib import Path

from workers import embedded_redis


def _start(var_dir: str, barrier) -> str:
    barrier.wait()
    return embedded_redis.ensure_running(Path(var_dir))


def _servers_on(sock: Path) -> list[int]:
    """Pids of the redis-server processes started for this socket path."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:  # the process ended meanwhile
            continue
        if args and b"redis-server" in args[0] and any(str(sock).encode() in a for a in args):
            pids.append(int(cmdline.parent.name))
    return pids


def test_processes_starting_it_at_once_share_one_server():
    # A short path of its own: pytest's tmp_path can exceed what a unix socket allows.
    with tempfile.TemporaryDirectory(prefix="otk") as var:
        ctx = multiprocessing.get_context("spawn")
        barrier = ctx.Manager().Barrier(4)
        try:
            with ctx.Pool(4) as pool:
                urls = pool.starmap(_start, [(var, barrier)] * 4)
            assert len(set(urls)) == 1
            assert len(_servers_on(embedded_redis.socket_path(Path(var)))) == 1
        finally:
            embedded_redis.stop(Path(var))
            for pid in _servers_on(embedded_redis.socket_path(Path(var))):  # servers a race left behind
                os.kill(pid, signal.SIGKILL)
