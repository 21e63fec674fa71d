"""Prometheus metrics, one registry per process (the daemon serves it at /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry()

messages_stored = Counter("otklik_messages_stored_total", "Messages stored", ["source"], registry=REGISTRY)
messages_dropped = Counter("otklik_messages_dropped_total", "Messages dropped by moderation", ["reason"],
                           registry=REGISTRY)
messages_routed = Counter("otklik_messages_routed_total", "Messages routed", ["topic_group"], registry=REGISTRY)
poll_errors = Counter("otklik_poll_errors_total", "Poll errors", ["source", "kind"], registry=REGISTRY)
outbox_depth = Gauge("otklik_outbox_depth", "Outbox rows by status", ["status"], registry=REGISTRY)
queue_depth = Gauge("otklik_queue_depth", "Jobs waiting in the RQ publish queue", registry=REGISTRY)
delivery_latency = Gauge("otklik_delivery_latency_seconds", "Approval to post, over the last 200 posted",
                         ["quantile"], registry=REGISTRY)
delivery_failures = Counter("otklik_delivery_failures_total", "Deliveries failed or parked", ["status"],
                            registry=REGISTRY)
webhook_refused = Counter("otklik_webhook_refused_total", "Webhook deliveries refused before parsing (authentication)",
                          ["source", "reason"], registry=REGISTRY)

# -- quarantine and sources' freshness (issue 15: no input stops intake) --------------------------
quarantined = Counter("otklik_quarantined_total", "Items set aside in the quarantine", ["source", "stage"],
                      registry=REGISTRY)
pipeline_failures = Counter("otklik_pipeline_failures_total",
                            "Failed attempts to process a message or apply a platform event", ["stage"],
                            registry=REGISTRY)
seconds_since_last_store = Gauge("otklik_seconds_since_last_store",
                                 "Seconds since a source's last successful ingest commit (an empty poll counts)",
                                 ["source"], registry=REGISTRY)
_last_store: dict[str, float] = {}


def note_store(source: str) -> None:
    """Called after each committed ingest; the gauge computes its age whenever it is scraped."""
    import time

    first = source not in _last_store
    _last_store[source] = time.monotonic()
    if first:
        seconds_since_last_store.labels(source).set_function(
            lambda s=source: time.monotonic() - _last_store[s])
database_writable = Gauge("otklik_database_writable", "1 if the last write probe committed, else 0", registry=REGISTRY)
worker_last_heartbeat = Gauge("otklik_worker_last_heartbeat_seconds",
                              "Seconds since the freshest RQ worker heartbeat (an idle worker beats every 45 s)",
                              registry=REGISTRY)
workers_alive = Gauge("otklik_workers_alive", "RQ workers registered in Redis", registry=REGISTRY)

# -- the operator's view (issue 22): intake, backlog, SLA, deliveries, HTTP ------------------------
# Gauges below are set from the database at each scrape (otklik.observe): every daemon of a
# standby pair reports the same figures, whichever process did the work.
pipeline_backlog = Gauge("otklik_pipeline_backlog", "Stored messages not yet moderated and routed", registry=REGISTRY)
pipeline_lag = Gauge("otklik_pipeline_lag_seconds",
                     "Age of the oldest stored message not yet processed (0 when none waits)", registry=REGISTRY)
cases_open = Gauge("otklik_cases_open", "Cases awaiting an answer, per department", ["department"],
                   registry=REGISTRY)
cases_overdue = Gauge("otklik_cases_overdue", "Cases awaiting an answer past their answer deadline, per department",
                      ["department"], registry=REGISTRY)
deliveries = Gauge("otklik_deliveries", "Approved replies by delivery status and platform", ["status", "platform"],
                   registry=REGISTRY)
notifications = Gauge("otklik_notifications", "Staff notifications by delivery status and channel",
                      ["status", "channel"], registry=REGISTRY)
notifications_lag = Gauge("otklik_notifications_oldest_due_seconds",
                          "How long the oldest staff notification due for delivery has waited (0 when none)",
                          registry=REGISTRY)
http_latency = Histogram("otklik_http_request_duration_seconds", "HTTP requests served, by route and status class",
                         ["method", "route", "status"], registry=REGISTRY,
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
leases_held = Gauge("otklik_leases_held", "Singleton jobs (pollers, relay, watcher) this daemon runs now",
                    registry=REGISTRY)
