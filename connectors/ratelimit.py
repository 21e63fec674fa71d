"""Rate limits kept *before* the platform complains.

`Limiter.wait(key, rate, per)` returns once one more call under `key` fits into `rate` calls per
`per` seconds. The local limiter serves one process (a connector built alone, and the daemon while
Redis is away); the daemon's pollers and the workers on every machine share the Redis windows of
workers/ratelimit.py, which has the same interface.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from typing import Protocol


class Limiter(Protocol):
    async def wait(self, key: str, rate: int, per: float = 1.0) -> None: ...


class LocalLimiter:
    """Sliding-window limiter: at most `rate` calls in any window of `per` seconds."""

    def __init__(self) -> None:
        self._calls: dict[str, deque[float]] = defaultdict(deque)
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def wait(self, key: str, rate: int, per: float = 1.0) -> None:
        async with self._locks[key]:
            calls = self._calls[key]
            while True:
                now = time.monotonic()
                while calls and calls[0] <= now - per:
                    calls.popleft()
                if len(calls) < rate:
                    calls.append(now)
                    return
                await asyncio.sleep(calls[0] + per - now)
