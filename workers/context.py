"""What a worker process keeps between jobs: settings, the database, Redis, one connector per source.

RQ forks a work-horse per job; the context is built lazily in whichever process runs the job and
reused by later jobs in the same process.
"""

from __future__ import annotations

import functools

import redis

from connectors.base import Connector
from connectors.registry import connector_class
from otklik.settings import Settings, get_settings
from storage.db import Database
from workers import queue
from workers.ratelimit import RedisLimiter


class WorkerContext:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database.connect(settings.database_url)
        self.redis: redis.Redis = queue.connect(queue.redis_url(settings))
        self.limiter = RedisLimiter(self.redis)

    def connector(self, source: str) -> Connector:
        """A fresh connector per call: its httpx client belongs to the event loop of one job."""
        cfg = self.settings.resolve_source(self.settings.source(source))
        return connector_class(cfg.platform.value)(cfg, limiter=self.limiter)


@functools.cache
def get_context() -> WorkerContext:
    return WorkerContext(get_settings())
