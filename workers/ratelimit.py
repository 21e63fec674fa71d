"""Per-token rate limits shared by every worker on every machine, kept in Redis.

A sliding window per key in a sorted set, checked and taken atomically by one Lua script using
the Redis server's clock (so machines with skewed clocks still share one window).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

import redis

from connectors.ratelimit import Limiter

log = logging.getLogger("otklik.ratelimit")

_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 1000)
  return '0'
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
"""


class RedisLimiter:
    prefix = "otklik:rate:"

    def __init__(self, conn: redis.Redis) -> None:
        self.conn = conn
        self._script = conn.register_script(_SCRIPT)

    def try_acquire(self, key: str, rate: int, per: float = 1.0) -> float:
        """0 when taken; otherwise seconds until a slot frees."""
        return float(self._script(keys=[self.prefix + key], args=[per, rate, uuid.uuid4().hex]))

    async def wait(self, key: str, rate: int, per: float = 1.0) -> None:
        while True:
            delay = await asyncio.to_thread(self.try_acquire, key, rate, per)
            if delay <= 0:
                return
            await asyncio.sleep(min(delay, per) + 0.001)


class SharedLimiter:
    """The daemon's limiter: the Redis window shared with the workers, so polling and posting under
    one token keep one budget together. While Redis is away the daemon must go on receiving
    (messages are stored in the database, not in Redis), so it falls back to a local window and
    tries Redis again after `retry_after` seconds."""

    def __init__(self, shared: RedisLimiter, local: Limiter, retry_after: float = 30.0) -> None:
        self.shared = shared
        self.local = local
        self.retry_after = retry_after
        self._down_until = 0.0

    async def wait(self, key: str, rate: int, per: float = 1.0) -> None:
        if time.monotonic() >= self._down_until:
            try:
                await self.shared.wait(key, rate, per)
            except (redis.RedisError, OSError) as exc:
                if not self._down_until:
                    log.warning("Redis unreachable, rate limits kept per process meanwhile: %s", exc)
                self._down_until = time.monotonic() + self.retry_after
            else:
                if self._down_until:
                    log.info("Redis reachable again, rate limits shared again")
                    self._down_until = 0.0
                return
        await self.local.wait(key, rate, per)
