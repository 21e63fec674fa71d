"""The daemon's HTTP server: health, metrics, platform webhooks, and the API (otklik/api)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from connectors.errors import ConnectorError
from otklik import metrics
from storage import outbox as outbox_store
from storage.sources import all_states

if TYPE_CHECKING:
    from otklik.daemon import Daemon

log = logging.getLogger("otklik.http")
DAEMON = web.AppKey("daemon", object)


async def healthz(request: web.Request) -> web.Response:
    """503 when the service cannot do its job: the database cannot be read or written, or replies
    wait in the publish queue with no worker taking them. 200 "degraded" for a source in trouble
    or Redis away (approved replies wait in the outbox meanwhile)."""
    from otklik import health

    daemon: Daemon = request.app[DAEMON]
    db_ok = await asyncio.to_thread(daemon.db.ping)
    write: health.WriteState = getattr(daemon, "db_write", health.WriteState())  # both kept fresh by the
    queue: health.QueueState = getattr(daemon, "queue_state", health.QueueState())  # daemon's health loop
    states: dict = {}
    if db_ok:
        try:
            states = await asyncio.to_thread(all_states, daemon.db)
        except Exception:  # noqa: BLE001 - SQLite read-only refuses even our reading transactions
            log.warning("source states unreadable")
    sources = {name: states.get(name, {"status": "starting"}) for name in daemon.connectors}
    redis_ok = queue.state != "unknown" or bool(daemon.relay and daemon.relay.redis_ok)
    status, code = health.overall(db_ok, write, queue, redis_ok, sources)
    if write.state == "read_only":
        database = "read_only"  # more precise than "unavailable" (our SQLite reads need a writable file too)
    elif not db_ok:
        database = "unavailable"
    else:
        database = "unwritable" if write.state == "unwritable" else "ok"
    body = {"status": status, "database": database,
            "database_checked_at": write.checked_at.isoformat() if write.checked_at else None,
            "redis": "ok" if redis_ok else "unavailable",
            "queue": queue.state, "queue_waiting": queue.waiting, "queue_lag_seconds": queue.lag_seconds,
            "workers": queue.workers, "sources": sources}
    if write.error:
        body["database_error"] = write.error
    return web.json_response(body, status=code)


async def metrics_view(request: web.Request) -> web.Response:
    daemon: Daemon = request.app[DAEMON]

    def refresh() -> None:
        with daemon.db.session() as s:
            counts = outbox_store.counts(s)
            latencies = sorted(outbox_store.recent_latencies(s, 200))
        for status in ("pending", "enqueued", "sending", "posted", "failed", "parked", "uncertain"):
            metrics.outbox_depth.labels(status).set(counts.get(status, 0))
        if latencies:
            for q in (0.5, 0.95):
                metrics.delivery_latency.labels(str(q)).set(latencies[min(len(latencies) - 1, int(q * len(latencies)))])
        depth = daemon.relay.queue_depth() if daemon.relay else None
        if depth is not None:
            metrics.queue_depth.set(depth)

    try:
        await asyncio.to_thread(refresh)
    except Exception:  # metrics must answer even while the database is away
        log.warning("metrics refresh failed")
    resp = web.Response(body=generate_latest(metrics.REGISTRY))
    resp.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    return resp


async def webhook(request: web.Request) -> web.Response:
    daemon: Daemon = request.app[DAEMON]
    name = request.match_info["source"]
    connector = daemon.connectors.get(name)
    if connector is None:
        return web.json_response({"error": "unknown source"}, status=404)
    body = await request.read()
    try:
        result = await connector.handle_webhook(body, request.headers)
    except NotImplementedError:
        return web.json_response({"error": "this source takes no webhooks"}, status=404)
    except ConnectorError as exc:
        log.warning("webhook rejected", extra={"source": name, "error": exc.kind})
        return web.json_response({"error": exc.kind}, status=403 if exc.kind == "auth_failed" else 400)
    if result.messages:
        from otklik.models import Batch

        # Stored before we answer: a platform that gets no 200 delivers again, and the
        # (source, external_id) key makes that harmless.
        await asyncio.to_thread(daemon.db.ingest, name, Batch(messages=result.messages))
        daemon.wake_pipeline.set()
    return web.Response(status=result.status, text=result.body, content_type=result.content_type)


def build_app(daemon: Daemon) -> web.Application:
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app[DAEMON] = daemon
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    app.router.add_post("/webhooks/{source}", webhook)
    from otklik.api import routes as api_routes

    api_routes.setup(app, daemon)
    return app
