"""Queue wiring: which Redis, which queues. Queues `publish` (replies) and `default` (the rest)."""

from __future__ import annotations

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry
from rq import Queue

from otklik.exceptions import QueueUnavailable
from otklik.settings import Settings
from workers import embedded_redis

PUBLISH = "publish"
DEFAULT = "default"


def redis_url(settings: Settings, *, start: bool = True) -> str:
    if settings.redis_url:
        return settings.redis_url
    if not start:
        return embedded_redis.url_for(settings.var_dir)
    return embedded_redis.ensure_running(settings.var_dir)


def connect(url: str, *, check: bool = True) -> redis.Redis:
    # Short connects and two quick retries (redis-py's default is ten): with Redis away, a command
    # fails within seconds and the caller's own loop (relay tick, worker wait) takes over, so a
    # process told to stop is never stuck in a client's retries.
    conn = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10, health_check_interval=30,
                                retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), 2))
    if check:
        try:
            conn.ping()
        except (redis.RedisError, OSError) as exc:
            raise QueueUnavailable(f"cannot reach Redis at {safe_url(url)}: {exc}") from None
    return conn


def safe_url(url: str) -> str:
    # redis://user:password@host -> redis://user:***@host
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return url


def queues(conn: redis.Redis) -> dict[str, Queue]:
    return {name: Queue(name, connection=conn) for name in (PUBLISH, DEFAULT)}
