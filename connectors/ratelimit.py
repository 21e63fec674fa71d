"""Rate limits kept *before* the platform complains.

`Limiter.wait(key, rate, per)` returns once one more call under `key` fits into `rate` calls per
`per` seconds. The local limiter serves one process (a connector built alone, and the daemon while
Redis is away); the daemon's pollers and the workers on every machine share the Redis windows of
workers/ratelimit.py, which has the same interface.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Hashable
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


class ChatTurns:
    """This process's sends to one chat go one at a time, `spacing` seconds apart counted from when
    the previous one was answered. A shared limiter alone counts from when a slot was taken, and a
    wait for the overall limit after that can push the send itself late enough to land right next
    to the following one (Telegram, MAX)."""

    def __init__(self, spacing: float, *, remember: int = 10_000) -> None:
        self.spacing = spacing
        self.remember = remember
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._sent: dict[Hashable, float] = {}  # chat -> when our last send to it was answered

    @contextlib.asynccontextmanager
    async def turn(self, chat: Hashable) -> AsyncIterator[None]:
        lock = self._locks.setdefault(chat, asyncio.Lock())
        async with lock:
            pause = self._sent.get(chat, -self.spacing) + self.spacing - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            try:
                yield
            finally:
                self._sent[chat] = time.monotonic()
                if len(self._sent) > self.remember:  # forget chats that are quiet again
                    horizon = time.monotonic() - self.spacing
                    for old in [c for c, t in self._sent.items() if t < horizon]:
                        del self._sent[old]
                        if not self._locks[old].locked():
                            del self._locks[old]
