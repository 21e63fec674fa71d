"""Prometheus metrics, one registry per process (the daemon serves it at /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

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
database_writable = Gauge("otklik_database_writable", "1 if the last write probe committed, else 0", registry=REGISTRY)
worker_last_heartbeat = Gauge("otklik_worker_last_heartbeat_seconds",
                              "Seconds since the freshest RQ worker heartbeat (an idle worker beats every 45 s)",
                              registry=REGISTRY)
workers_alive = Gauge("otklik_workers_alive", "RQ workers registered in Redis", registry=REGISTRY)
