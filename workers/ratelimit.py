"""Per-token rate limits shared by every worker on every machine, kept in Redis.

A sliding window per key in a sorted set, checked and taken atomically by one Lua script using
the Redis server's clock (so machines with skewed clocks still share one window).
"""

from __future__ import annotations

import asyncio
import uuid

import redis

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
