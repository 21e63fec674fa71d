"""`otklik run`, `otklik worker`, `otklik db upgrade`, `otklik config check`."""

from __future__ import annotations

import argparse
import asyncio
import sys

from otklik import logs
from otklik.exceptions import ConfigError
from otklik.settings import load_settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the daemon: pollers, pipeline, outbox relay, watcher, HTTP")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("worker", help="run RQ workers for the publish and default queues")
    p.add_argument("--concurrency", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    p.set_defaults(func=cmd_worker)

    db = sub.add_parser("db", help="database maintenance").add_subparsers(dest="db_command", required=True)
    p = db.add_parser("upgrade", help="apply migrations (also done on every start)")
    p.set_defaults(func=cmd_db_upgrade)

    cfg = sub.add_parser("config", help="configuration").add_subparsers(dest="config_command", required=True)
    p = cfg.add_parser("check", help="validate settings and say what is wrong or missing")
    p.set_defaults(func=cmd_config_check)


def cmd_run(args: argparse.Namespace) -> int:
    from otklik.cli.stop import lifetime
    from otklik.daemon import Daemon

    settings = load_settings()
    logs.setup(settings.log_level, levels=settings.log_levels)
    with lifetime(settings, "daemon"):
        return asyncio.run(Daemon(settings).run())


class _Stop(BaseException):
    """Raised by our SIGTERM/SIGINT handler to leave the worker's wait for Redis at once. Not an
    Exception, like KeyboardInterrupt: an `except Exception` in a Redis client must not swallow it."""


def _raise_stop(signum, frame) -> None:
    from workers.worker import OtklikWorker

    OtklikWorker.stop_requested = True
    raise _Stop


def cmd_worker(args: argparse.Namespace) -> int:
    import logging
    import os
    import signal
    import time

    import redis
    from rq.worker_pool import WorkerPool

    from otklik.cli.stop import lifetime
    from workers import queue
    from workers.worker import OtklikWorker

    settings = load_settings()
    logs.setup(settings.log_level, levels=settings.log_levels)
    log = logging.getLogger("otklik.worker")
    names = [queue.PUBLISH, queue.DEFAULT]
    # Outside RQ's work loop (which installs handlers of its own) a stop request must end the
    # process at once, even in a sleep or a connect: the handler raises.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _raise_stop)
    try:
        with lifetime(settings, "worker"):
            url = queue.redis_url(settings)
            conn = queue.connect(url)  # the first connection must work: a clear error, not a retry loop
            log.info("worker started", extra={"queues": names, "redis": queue.safe_url(url),
                                              "concurrency": args.concurrency, "pid": os.getpid()})
            delay = 1.0
            while not OtklikWorker.stop_requested:
                try:
                    if args.concurrency > 1:
                        WorkerPool(names, connection=conn, num_workers=args.concurrency,
                                   worker_class=OtklikWorker).start(burst=args.burst)
                    else:
                        # Jobs run in the worker process itself (no fork per job): the database engine,
                        # Redis connection and rate limiter are built once and reused. Publishing jobs are
                        # short and bounded by their own time-outs; a crash is recovered by the outbox lease.
                        OtklikWorker(names, connection=conn).work(burst=args.burst, with_scheduler=True)
                    return 0
                except (redis.ConnectionError, redis.TimeoutError) as exc:
                    if OtklikWorker.stop_requested:  # RQ left its loop on our SIGTERM, then lost Redis
                        return 0
                    for sig in (signal.SIGTERM, signal.SIGINT):
                        signal.signal(sig, _raise_stop)
                    # Redis went away: the outbox in the database keeps every approved reply; wait for
                    # Redis to come back instead of dying (the relay re-enqueues what it lost).
                    log.warning("Redis unavailable; worker waits", extra={"error": str(exc), "retry_in": delay})
                    time.sleep(delay)
                    delay = min(30.0, delay * 2)
                    try:
                        url = queue.redis_url(settings)
                        conn = queue.connect(url)
                        delay = 1.0
                    except Exception:  # noqa: BLE001 - still down; loop and wait
                        continue
            return 0
    except _Stop:
        return 0
    finally:
        _stop_children()
        log.info("worker stopped", extra={"pid": os.getpid()})


def _stop_children(timeout: float = 5.0) -> None:
    """RQ's scheduler runs in a child process that RQ stops in its own clean-up; a stop request
    that came before RQ installed its handlers skips that, and Python would wait at exit for the
    child for ever."""
    import multiprocessing

    children = multiprocessing.active_children()
    for child in children:
        child.terminate()
    for child in children:
        child.join(timeout)
        if child.is_alive():
            child.kill()


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from storage.db import Database
    from storage.migrate import current

    db = Database.connect(load_settings().database_url)
    print(f"database at revision {current(db.engine)}")
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    """Print every problem with file:line, and what is missing (secrets, sources); exit 1 if any."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    problems: list[str] = []
    if not settings.sources:
        problems.append("no [[sources]] configured: the daemon will poll nothing")
    from otklik.settings import secret_hint
    from otklik.sourcecheck import missing_required_secrets

    for src in settings.sources:
        cfg = settings.resolve_source(src)
        for key, ref in src.secrets.items():
            if key not in cfg.secrets:
                problems.append(f"source {src.name}: secret {key!r} not found ({ref})")
        for key in missing_required_secrets(settings, src):
            if key not in src.secrets:
                problems.append(f"source {src.name}: the required secret {key!r} is not found; "
                                f"{secret_hint(src, key)}")
    problems += settings.staff_bot.problems()
    problems += settings.attachments.problems()
    try:
        from regulation.profiles import load_profile

        load_profile(settings.profile)
    except Exception as exc:  # noqa: BLE001 - any failure here is a configuration problem to report
        problems.append(f"profile {settings.profile!r}: {exc}")
    for p in problems:
        print(p, file=sys.stderr)
    if not problems:
        print(f"configuration OK: {len(settings.sources)} source(s) with their options and required secrets, "
              f"profile {settings.profile}, "
              f"database {'PostgreSQL' if 'postgres' in settings.database_url else 'SQLite'}, "
              f"Redis {'external' if settings.redis_url else 'embedded'}, "
              f"attachments on {'S3 bucket ' + str(settings.attachments.bucket) if settings.attachments.backend == 's3' else 'disk'}")
    return 1 if problems else 0
