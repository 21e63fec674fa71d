"""getUpdates long polling: a request waits up to its timeout for updates, and a newer request (or
setWebhook) ends the one still waiting, which then answers 409 Conflict, as on the real Bot API."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

BY_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
BY_SET_WEBHOOK = "Conflict: terminated by setWebhook request"


class LongPoll:
    def __init__(self) -> None:
        self._generation = 0
        self._reason = BY_OTHER_POLL
        self._waiters: list[asyncio.Future] = []

    def wake(self) -> None:
        """Something changed: every waiting poll looks again."""
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    def supersede(self, reason: str) -> None:
        """End the poll waiting now (if any) with a 409 carrying `reason`."""
        self._generation += 1
        self._reason = reason
        self.wake()

    async def wait(self, ready: Callable[[], list], timeout: float) -> list | str:
        """What `ready()` returns once it is non-empty, [] after `timeout`, or the 409 description
        when a newer request took over."""
        self.supersede(BY_OTHER_POLL)
        generation = self._generation
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._generation:
                return self._reason
            items = ready()
            if items:
                return items
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            waiter = loop.create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                pass
