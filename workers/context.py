"""What a worker process keeps between jobs: settings, the database, Redis, one connector per source.

RQ forks a work-horse per job; the context is built lazily in whichever process runs the job and
reused by later jobs in the same process.
"""

from __future__ import annotations

import asyncio
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
        # One event loop for the life of the worker process, so connectors and their HTTP
        # connection pools are reused from job to job.
        self.loop = asyncio.new_event_loop()
        self._connectors: dict[str, Connector] = {}

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def connector(self, source: str) -> Connector:
        if source not in self._connectors:
            cfg = self.settings.resolve_source(self.settings.source(source))
            self._connectors[source] = connector_class(cfg.platform.value)(cfg, limiter=self.limiter)
        return self._connectors[source]


@functools.cache
def get_context() -> WorkerContext:
    return WorkerContext(get_settings())
