"""`otklik run`: one asyncio supervisor for pollers, the pipeline, the outbox relay, the deadline
watcher, the health probe and the HTTP server. SIGTERM lets every loop finish its current step,
then exits 0. A port already taken is one clear error, not a traceback."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from connectors.base import Connector
from connectors.ratelimit import LocalLimiter
from connectors.registry import connector_class
from otklik import health, http, metrics
from otklik.attachments.citizen import CitizenFiles
from otklik.attachments.store import store_for
from otklik.exceptions import OtklikError, StorageUnavailable
from otklik.pipeline import Pipeline
from otklik.poller import PollLoop
from otklik.relay import OutboxRelay
from otklik.reporter import ReportScheduler
from otklik.settings import Settings
from otklik.staffbot import poller as staffbot_poller
from otklik.watcher import DeadlineWatcher
from storage import leases
from storage.db import Database
from workers import queue
from workers.ratelimit import RedisLimiter, SharedLimiter

log = logging.getLogger("otklik.daemon")
HEALTH_INTERVAL = 5.0  # seconds between write probes and worker checks
PROBE_TIMEOUT = 10.0  # a write probe still waiting after this (a lock, a hung disk) counts as unwritable
# Several daemons on one database: a singleton job's lease lasts its interval plus this margin, so
# a holder that died is replaced this long after its last step. A standby asks every STANDBY_RETRY s.
LEASE_MARGIN = float(os.environ.get("OTKLIK_LEASE_MARGIN", "5"))
STANDBY_RETRY = 1.0


async def connect_database(settings: Settings, stop: asyncio.Event, max_wait: float = 30.0) -> Database:
    """With the database down, wait and retry (growing pauses) instead of crash-looping."""
    delay = 1.0
    while True:
        try:
            return await asyncio.to_thread(Database.connect, settings.database_url)
        except StorageUnavailable as exc:
            log.error("database unavailable; retrying", extra={"error": str(exc), "retry_in": delay})
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
                raise
            except TimeoutError:
                delay = min(max_wait, delay * 2)


class Daemon:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stop = asyncio.Event()
        self.wake_pipeline = asyncio.Event()
        self.connectors: dict[str, Connector] = {}
        self.limiter: SharedLimiter | None = None
        self.pollers: dict[str, PollLoop] = {}
        self.staff_bots: list[staffbot_poller.StaffBotPoller] = []
        self.db: Database | None = None
        self.pipeline: Pipeline | None = None
        self.relay: OutboxRelay | None = None
        self.started_at = time.time()
        self.http_url = ""
        self.redis = None  # the daemon's own Redis connection (rate limits, worker health)
        self.db_write = health.WriteState()
        self.queue_state = health.QueueState()  # unknown until the first check
        self._probe: asyncio.Future | None = None
        self.holder = leases.new_holder()  # this daemon's name in the leases table
        self.leases: set[str] = set()  # the leases this daemon held at its last step of each
        self._renew_at: dict[str, float] = {}  # lease -> monotonic time to renew it (half its ttl)

    def leased(self, name: str, ttl: Callable[[], float], step: Callable[[], Awaitable[float]]):
        """`step`, run only while this daemon holds the lease `name`; a standby asks again every
        STANDBY_RETRY seconds and takes over once the lease expired. The holder renews it once half
        of it has run out (not on every step: a poll every 0.5 s need not write every 0.5 s).
        On SQLite, one daemon per var dir, `step` itself: no writes for leases nobody contends."""
        if self.db.engine.dialect.name == "sqlite":
            self.leases.add(name)  # held by definition: /healthz and the gauge say so
            return step

        async def run() -> float:
            if time.monotonic() >= self._renew_at.get(name, 0.0):
                lease_ttl = ttl()
                if not await asyncio.to_thread(leases.acquire, self.db, name, self.holder, lease_ttl):
                    self._renew_at.pop(name, None)
                    if name in self.leases:
                        self.leases.discard(name)
                        log.warning("lease lost to another daemon", extra={"lease": name})
                    return STANDBY_RETRY
                self._renew_at[name] = time.monotonic() + lease_ttl / 2
            if name not in self.leases:
                self.leases.add(name)
                log.info("lease acquired", extra={"lease": name, "holder": self.holder})
            # A step may outlast the lease (a long poll waits up to 25 s): renewed meanwhile.
            keep = asyncio.create_task(self._renew(name, ttl))
            try:
                return await step()
            finally:
                keep.cancel()
        return run

    async def _renew(self, name: str, ttl: Callable[[], float]) -> None:
        while True:
            await asyncio.sleep(LEASE_MARGIN / 2)
            try:
                lease_ttl = ttl()
                if await asyncio.to_thread(leases.acquire, self.db, name, self.holder, lease_ttl):
                    self._renew_at[name] = time.monotonic() + lease_ttl / 2
            except Exception:  # noqa: BLE001 - the next step's acquire says what became of it
                log.warning("lease renewal failed", extra={"lease": name})

    def build_connectors(self) -> None:
        # Pollers take their calls from the same Redis windows as the workers' posts: one budget
        # per token, whichever process spends it.
        self.redis = redis_conn = queue.connect(queue.redis_url(self.settings), check=False)
        self.limiter = SharedLimiter(RedisLimiter(redis_conn), LocalLimiter())
        for src in self.settings.sources:
            if not src.enabled:
                continue
            cfg = self.settings.resolve_source(src)
            self.connectors[src.name] = connector_class(src.platform.value)(cfg, limiter=self.limiter)

    async def _loop(self, name: str, step: Callable[[], Awaitable[float]]) -> None:
        """Run `step` until stopped; a step's exception is logged and retried, never fatal."""
        failures = 0
        while not self.stop.is_set():
            try:
                delay = await step()
                failures = 0
            except Exception:
                failures += 1
                log.exception("loop step failed", extra={"loop": name})
                delay = min(60.0, 2.0**failures)
            if delay > 0:
                try:
                    await asyncio.wait_for(self.stop.wait(), timeout=delay)
                except TimeoutError:
                    pass

    async def _pipeline_step(self) -> float:
        processed = await asyncio.to_thread(self.pipeline.process_pending)
        if processed:
            return 0.0
        self.wake_pipeline.clear()
        # Woken by a stored message, by stop (so stopping never waits out the second), or by the
        # second passing (messages stored by another process, e.g. a webhook worker).
        waiters = [asyncio.ensure_future(e.wait()) for e in (self.wake_pipeline, self.stop)]
        try:
            await asyncio.wait(waiters, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
        return 0.0

    async def _relay_step(self) -> float:
        await asyncio.to_thread(self.relay.step)
        return self.settings.relay_interval

    async def probe_database(self) -> health.WriteState:
        """Run the write probe (at most one at a time) and keep its verdict for /healthz."""
        if self._probe is not None and not self._probe.done():
            state = health.WriteState("unwritable", f"the write probe has not finished in {PROBE_TIMEOUT:.0f}s",
                                      self.db_write.checked_at)
        else:
            self._probe = asyncio.ensure_future(asyncio.to_thread(health.probe_write, self.db))
            try:
                state = await asyncio.wait_for(asyncio.shield(self._probe), PROBE_TIMEOUT)
            except TimeoutError:
                state = health.WriteState("unwritable", f"no answer within {PROBE_TIMEOUT:.0f}s", self.db_write.checked_at)
        if state.state != self.db_write.state:
            (log.info if state.writable else log.error)(
                "database write probe", extra={"state": state.state, "error": state.error})
        self.db_write = state
        metrics.database_writable.set(1 if state.writable else 0)
        return state

    def check_queue(self) -> health.QueueState:
        """The publish queue and the workers, from Redis; unknown while Redis is away. Kept for
        /healthz, which so answers at once even when Redis hangs."""
        try:
            state = health.queue_state(self.redis)
            metrics.workers_alive.set(state.alive)
            # No worker, no age: NaN rather than the last worker's figure frozen in place.
            age = state.last_heartbeat_age
            metrics.worker_last_heartbeat.set(age if age is not None else float("nan"))
        except Exception:  # noqa: BLE001 - Redis away: the relay logs it, health says unknown
            state = health.QueueState()
        self.queue_state = state
        return state

    async def _health_step(self) -> float:
        await self.probe_database()
        if self.redis is not None:
            await asyncio.to_thread(self.check_queue)
        return HEALTH_INTERVAL

    def listen(self) -> socket.socket:
        """Take the HTTP port before anything else: a second `otklik run` learns the port is taken
        at once, in one line, having touched nothing."""
        host, port = self.settings.http_host, self.settings.http_port
        try:
            return socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise OtklikError(f"cannot listen on {host}:{port}: address already in use "
                                  "(another otklik run?)") from None
            raise OtklikError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None

    async def run(self, ready: Callable[[Daemon], None] | None = None) -> int:
        listening = self.listen()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self.stop.set)
            except (NotImplementedError, RuntimeError):  # not the main thread (tests)
                pass
        self.db = await connect_database(self.settings, self.stop)
        if self.db.engine.dialect.name == "sqlite":  # one daemon per var dir: leases are not used
            await asyncio.to_thread(leases.clear, self.db)
        self.build_connectors()
        self.pipeline = await asyncio.to_thread(Pipeline.create, self.db, self.settings)
        self.relay = OutboxRelay(self.db, queue.redis_url(self.settings))
        watcher = DeadlineWatcher(self.db, self.settings)
        relay_ttl = self.settings.relay_interval + LEASE_MARGIN
        # The watcher's step is a scan of every open case: its lease outlasts two intervals.
        watch_ttl = 2 * self.settings.watch_interval + LEASE_MARGIN
        await self._health_step()  # /healthz tells the truth from its first answer
        runner = web.AppRunner(http.build_app(self), access_log=None)
        await runner.setup()
        site = web.SockSite(runner, listening)
        await site.start()
        port = listening.getsockname()[1]
        self.http_url = f"http://{self.settings.http_host}:{port}"
        log.info("otklik daemon started", extra={"http": self.http_url, "sources": list(self.connectors),
                                                 "holder": self.holder})
        # The pipeline runs in every daemon (messages are claimed one by one); the relay, the
        # watcher and each source's poller run where their lease is held.
        tasks = [asyncio.create_task(self._loop("pipeline", self._pipeline_step)),
                 asyncio.create_task(self._loop("relay", self.leased("relay", lambda: relay_ttl, self._relay_step))),
                 asyncio.create_task(self._loop("watcher", self.leased("watcher", lambda: watch_ttl, watcher.step))),
                 asyncio.create_task(self._loop("health", self._health_step)),
                 asyncio.create_task(self._loop("reports", ReportScheduler(self.db, self.settings).step))]
        if self.settings.citizen_files:
            files = CitizenFiles(self.db, self.connectors, store_for(self.settings))
            tasks.append(asyncio.create_task(self._loop("citizen_files", files.step)))
        for name, conn in self.connectors.items():
            poller = PollLoop(conn, self.db, on_stored=self.wake_pipeline.set, on_alert=self.pipeline.alert_async)
            self.pollers[name] = poller
            ttl = conn.config.poll_interval + LEASE_MARGIN
            step = self.leased(f"poll:{name}", lambda t=ttl: t, poller.step)
            tasks.append(asyncio.create_task(self._loop(f"poll:{name}", step)))
        # The staff bot (notifications to staff): one poller per platform, under a lease like a source's.
        self.staff_bots = staffbot_poller.pollers(self.db, self.settings.staff_bot)
        for bot in self.staff_bots:
            ttl = self.settings.staff_bot.poll_timeout + LEASE_MARGIN
            step = self.leased(f"staffbot:{bot.platform}", lambda t=ttl: t, bot.step)
            tasks.append(asyncio.create_task(self._loop(f"staffbot:{bot.platform}", step)))
        if ready:
            ready(self)
        await self.stop.wait()
        log.info("stopping: finishing in-flight work")
        await asyncio.gather(*tasks, return_exceptions=True)
        await runner.cleanup()
        for conn in self.connectors.values():
            await conn.aclose()
        for bot in self.staff_bots:
            await bot.aclose()
        try:  # a standby takes over at once instead of waiting the leases out
            await asyncio.to_thread(leases.release, self.db, self.holder)
        except Exception:  # noqa: BLE001 - the database away: the leases simply expire
            log.warning("leases not released; they expire by themselves")
        self.db.dispose()
        log.info("otklik daemon stopped")
        return 0
