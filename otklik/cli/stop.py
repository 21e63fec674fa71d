"""`otklik stop`, and what makes it possible: every `otklik run` and `otklik worker` leaves a pid file
under var/run for its lifetime and, on the embedded Redis, registers as one of its users.

`otklik stop` sends SIGTERM to each live process of this var dir, waits for them (a worker first
finishes the job in hand; a second SIGTERM makes it drop it, the outbox lease brings it back),
then shuts the embedded Redis down.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from otklik.settings import Settings, load_settings
from workers import embedded_redis

log = logging.getLogger("otklik.process")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stop", help="stop the daemon and workers of this var dir, then the embedded Redis")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="seconds to let them finish before a second SIGTERM (default 30)")
    p.set_defaults(func=cmd_stop)


def run_dir(var_dir: Path) -> Path:
    return var_dir / "run"


@contextlib.contextmanager
def lifetime(settings: Settings, role: str) -> Iterator[None]:
    """For the life of `otklik run` / `otklik worker`: a pid file for `otklik stop`, and, with the
    embedded Redis, a registration as its user, so the last one out shuts it down."""
    pid = os.getpid()
    pidfile = run_dir(settings.var_dir) / f"{role}.{pid}.pid"
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    pidfile.write_text(embedded_redis.process_token(pid), encoding="utf-8")
    embedded = not settings.redis_url
    try:
        if embedded:
            embedded_redis.acquire(settings.var_dir)
        yield
    finally:
        # Exiting now: a further Ctrl-C or SIGTERM must not cut the clean-up short (a pid file or a
        # registration left behind). Only the main thread may set handlers (tests run it elsewhere).
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(ValueError):
                signal.signal(sig, signal.SIG_IGN)
        if embedded:
            try:
                if embedded_redis.release(settings.var_dir):
                    log.info("embedded Redis stopped: its last user exited")
            except Exception:  # noqa: BLE001 - exiting anyway; `otklik stop` can still stop it
                log.warning("could not release the embedded Redis", exc_info=True)
        pidfile.unlink(missing_ok=True)


@dataclass
class Running:
    role: str
    pid: int
    pidfile: Path


def running(var_dir: Path) -> list[Running]:
    """The daemons and workers of this var dir still alive; stale pid files are removed."""
    found = []
    for pidfile in sorted(run_dir(var_dir).glob("*.pid")):
        try:
            token = pidfile.read_text(encoding="utf-8").strip()
            role = pidfile.name.split(".", 1)[0]
            pid = int(token.split()[0])
        except (OSError, ValueError, IndexError):
            continue
        if embedded_redis.token_alive(token):
            found.append(Running(role, pid, pidfile))
        else:
            pidfile.unlink(missing_ok=True)  # a SIGKILLed process
    return found


def _signal_all(procs: list[Running]) -> None:
    for p in procs:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p.pid, signal.SIGTERM)


def _wait(var_dir: Path, timeout: float) -> list[Running]:
    deadline = time.monotonic() + timeout
    while (left := running(var_dir)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def cmd_stop(args: argparse.Namespace) -> int:
    settings = load_settings()
    var_dir = settings.var_dir
    procs = running(var_dir)
    for p in procs:
        print(f"stopping {p.role} (pid {p.pid})")
    _signal_all(procs)
    left = _wait(var_dir, args.timeout)
    if left:
        _signal_all(left)  # the second SIGTERM: an RQ worker drops the job in hand
        left = _wait(var_dir, 10.0)
    if left:
        for p in left:
            print(f"otklik: {p.role} (pid {p.pid}) is still running; stop it with: kill -KILL {p.pid}")
        return 1
    if not settings.redis_url and embedded_redis.socket_path(var_dir).exists():
        embedded_redis.stop(var_dir)
        print("embedded Redis stopped")
    if not procs:
        print(f"nothing was running under {var_dir}")
    return 0
