"""The daemon's HTTP server: health, metrics, platform webhooks, the API (otklik/api) and the
operator console (otklik/console)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from connectors.base import IPNetwork, WebhookRefused, networks
from connectors.errors import ConnectorError, RateLimited, Transient
from otklik import metrics, safejson
from storage import outbox as outbox_store
from storage.sources import all_states

if TYPE_CHECKING:
    from otklik.daemon import Daemon

log = logging.getLogger("otklik.http")
DAEMON = web.AppKey("daemon", object)
TRUSTED_PROXIES = web.AppKey("trusted_proxies", list)
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


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
            "workers": queue.workers, "workers_alive": queue.alive, "sources": sources}
    if db_ok:
        body.update(await asyncio.to_thread(_pipeline_and_leases, daemon))
    if write.error:
        body["database_error"] = write.error
    return web.json_response(body, status=code)


def _pipeline_and_leases(daemon: Daemon) -> dict:
    """The pipeline's backlog and who runs what (several daemons on one database), for /healthz."""
    from otklik import observe
    from storage import leases

    out: dict = {}
    try:
        with daemon.db.session() as s:
            b = observe.backlog(s)
            notes = _notify_backlog(s)
        out["pipeline"] = {"unprocessed": b.unprocessed, "oldest_age_seconds": b.oldest_age_seconds}
        out["notifications"] = notes
        held = leases.held(daemon.db)
    except Exception:  # noqa: BLE001 - the database's own state is reported above
        log.warning("pipeline backlog unreadable")
        return out
    # active: runs at least one singleton job (poller, relay, watcher); standby: others run them all.
    # On SQLite (one daemon per var dir) no lease is written: the daemon runs them all.
    mine = getattr(daemon, "leases", set())
    out["ha"] = {"holder": getattr(daemon, "holder", None), "role": "active" if mine else "standby",
                 "runs": sorted(mine), "leases": held}
    return out


def _notify_backlog(s) -> dict:
    """The staff notifications' queue for /healthz: notes still to deliver, failed ones (an admin
    retries them from the console), and how long the oldest due note has waited."""
    from otklik import observe
    from otklik.notify import store

    counts = observe.notifications(s, (*store.ACTIVE, "failed"))  # /healthz is polled often: no sent ones
    return {"undelivered": sum(n for (st, _), n in counts.items() if st in store.ACTIVE),
            "failed": sum(n for (st, _), n in counts.items() if st == "failed"),
            "oldest_due_seconds": observe.notify_oldest_due(s)}


def _refresh_operator_gauges(daemon: Daemon, s) -> None:
    from otklik import observe

    b = observe.backlog(s)
    metrics.pipeline_backlog.set(b.unprocessed)
    metrics.pipeline_lag.set(b.oldest_age_seconds or 0.0)
    sla = observe.sla_by_department(s)
    metrics.cases_open.clear()
    metrics.cases_overdue.clear()
    for dept, (n_open, n_overdue) in sla.items():
        metrics.cases_open.labels(dept).set(n_open)
        metrics.cases_overdue.labels(dept).set(n_overdue)
    settings = getattr(daemon, "settings", None)
    platforms = {src.name: src.platform.value for src in getattr(settings, "sources", [])}
    metrics.deliveries.clear()
    for (status, platform), n in observe.deliveries(s, platforms).items():
        metrics.deliveries.labels(status, platform).set(n)
    metrics.notifications.clear()
    for (status, channel), n in observe.notifications(s).items():
        metrics.notifications.labels(status, channel).set(n)
    metrics.notifications_lag.set(observe.notify_oldest_due(s) or 0.0)
    metrics.leases_held.set(len(getattr(daemon, "leases", ())))


async def metrics_view(request: web.Request) -> web.Response:
    daemon: Daemon = request.app[DAEMON]

    def refresh() -> None:
        with daemon.db.session() as s:
            counts = outbox_store.counts(s)
            latencies = sorted(outbox_store.recent_latencies(s, 200))
            _refresh_operator_gauges(daemon, s)
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


WEBHOOK_MAX_BYTES = 1024 * 1024  # a platform event is a few KB; a megabyte is generous
_REFUSED_TEXT = {401: "unauthorized", 403: "forbidden", 404: "not found"}


def _refuse(source: str, reason: str, status: int) -> web.Response:
    """A delivery that failed authentication: counted, logged without content, answered with a
    bare status (which check failed is for our log, not for the sender)."""
    metrics.webhook_refused.labels(source, reason).inc()
    log.warning("webhook refused", extra={"source": source, "reason": reason, "status": status})
    return web.json_response({"error": _REFUSED_TEXT.get(status, "refused")}, status=status)


def client_address(peer: str | None, headers, trusted: list[IPNetwork]) -> Address | None:
    """The sender's address: the TCP peer, unless the peer is one of our trusted proxies — then the
    right-most X-Forwarded-For hop that is not a trusted proxy (or X-Real-IP without that header).
    A forwarding header from anyone else is ignored, so it cannot be forged from outside."""
    try:
        addr = ipaddress.ip_address(peer or "")
    except ValueError:
        return None
    if not any(addr in net for net in trusted):
        return addr
    hops = [h.strip() for v in headers.getall("X-Forwarded-For", []) for h in v.split(",") if h.strip()]
    if not hops and headers.get("X-Real-IP"):
        hops = [headers["X-Real-IP"].strip()]
    for hop in reversed(hops):
        try:
            addr = ipaddress.ip_address(hop)
        except ValueError:
            return None  # a garbled chain proves nothing
        if not any(addr in net for net in trusted):
            return addr
    return addr


async def _read_limited(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size)
        chunks.append(chunk)
    return b"".join(chunks)


async def webhook(request: web.Request) -> web.Response:
    """/webhooks/<source> (platforms with their own secret) and /webhooks/<source>/<token> (OK).
    Authenticate first — address, path token, header — then read a limited body, then parse."""
    daemon: Daemon = request.app[DAEMON]
    name = request.match_info["source"]
    connector = daemon.connectors.get(name)
    if connector is None or not connector.takes_webhooks:
        # An unknown name is the sender's choice: it never becomes a metric label.
        return _refuse("unknown" if connector is None else name, "no_webhook", 404)
    try:
        allowed = connector.webhook_networks()
        if allowed:
            sender = client_address(request.remote, request.headers, request.app[TRUSTED_PROXIES])
            if sender is None or not any(sender in net for net in allowed):
                return _refuse(name, "address", 403)
        connector.authenticate_webhook(request.headers, request.match_info.get("token"))
    except WebhookRefused as exc:
        return _refuse(name, exc.reason, exc.status)
    except ValueError:  # a bad CIDR in webhook_allowed_ips: nobody gets in until it is fixed
        log.error("webhook_allowed_ips is not a list of CIDRs", extra={"source": name})
        return _refuse(name, "misconfigured", 403)
    try:
        body = await _read_limited(request, WEBHOOK_MAX_BYTES)
    except web.HTTPRequestEntityTooLarge:
        return web.json_response({"error": f"body larger than {WEBHOOK_MAX_BYTES} bytes"}, status=413)
    try:
        result = await connector.handle_webhook(body, request.headers)
    except WebhookRefused as exc:  # secrets that travel in the body (VK)
        return _refuse(name, exc.reason, exc.status)
    except (Transient, RateLimited) as exc:  # the platform is away (e.g. VK group id): ask for a retry
        log.warning("webhook deferred", extra={"source": name, "error": exc.kind})
        return web.json_response({"error": exc.kind}, status=503)
    except ConnectorError as exc:
        log.warning("webhook rejected", extra={"source": name, "error": exc.kind})
        return web.json_response({"error": "malformed", "message": str(exc)}, status=400,
                                 dumps=safejson.dumps)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        # A mapping that met a shape it does not expect: the sender's body, so a 400, not a 500.
        log.warning("webhook body unreadable", extra={"source": name, "error": type(exc).__name__})
        return web.json_response({"error": "malformed", "message": "body is not an event this source reads"},
                                 status=400)
    if result.messages:
        from otklik.models import Batch

        # Stored before we answer: a platform that gets no 200 delivers again, and the
        # (source, external_id) key makes that harmless.
        await asyncio.to_thread(daemon.db.ingest, name, Batch(messages=result.messages))
        daemon.wake_pipeline.set()
    return web.Response(status=result.status, text=result.body, content_type=result.content_type)


@web.middleware
async def timed(request: web.Request, handler):
    """Every request's duration into the latency histogram, by route pattern (never the raw path:
    ids would make a series each)."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        resource = request.match_info.route.resource if request.match_info.route else None
        route = resource.canonical if resource is not None else "unmatched"
        metrics.http_latency.labels(request.method, route, str(status)).observe(time.perf_counter() - started)


def build_app(daemon: Daemon) -> web.Application:
    app = web.Application(client_max_size=4 * 1024 * 1024, middlewares=[timed])
    app[DAEMON] = daemon
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    app.router.add_post("/webhooks/{source}", webhook)
    app.router.add_post("/webhooks/{source}/{token}", webhook)
    settings = getattr(daemon, "settings", None)
    app[TRUSTED_PROXIES] = networks(getattr(settings, "trusted_proxies", None))
    from otklik.api import guards
    from otklik.api import routes as api_routes

    app.middlewares.append(guards.api_guard)
    api_routes.setup(app, daemon)
    from otklik import console

    console.setup(app, daemon)  # the operator console (server-rendered pages under /console)
    return app
