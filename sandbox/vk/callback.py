"""VK's Callback API as the emulator delivers it: a server added in the community's settings is
confirmed first (`{"type": "confirmation"}` must be answered with the code and nothing else);
then every event is POSTed with `secret`, and repeated with `X-Retry-Counter: n` until the answer
is exactly "ok" (at most as many times as there are delays)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from sandbox.vk.world import GROUP_ID

CALLBACK_SECRET = "sandbox-callback-secret"
CONFIRMATION_CODE = "5e1f7a2c"


class CallbackServer:
    def __init__(self, delays: tuple[float, ...] = (0.2, 0.5, 1, 2, 4)) -> None:
        self.url: str | None = None
        self.secret: str | None = None
        self.confirmed = False
        self.delays = delays
        self.log: list[dict[str, Any]] = []  # every attempt: event_id, type, attempt, status, answer
        self._queue: asyncio.Queue | None = None
        self._task: asyncio.Task | None = None

    async def configure(self, url: str, secret: str | None) -> dict[str, Any]:
        self.url, self.secret, self.confirmed = url, secret, False
        async with httpx.AsyncClient(timeout=5) as client:
            try:
                r = await client.post(url, json={"type": "confirmation", "group_id": GROUP_ID})
                self.confirmed = r.status_code == 200 and r.text.strip() == CONFIRMATION_CODE
            except httpx.HTTPError:
                pass
        if self.confirmed and self._task is None:
            self._queue = asyncio.Queue()
            self._task = asyncio.get_running_loop().create_task(self._deliver_loop())
        return {"server_id": 1, "confirmed": self.confirmed}

    def enqueue(self, event: dict) -> None:
        """Events of an unconfirmed (or absent) server are not sent, as on VK."""
        if self.confirmed and self._queue is not None:
            self._queue.put_nowait(event)

    async def _deliver_loop(self) -> None:
        assert self._queue is not None
        async with httpx.AsyncClient(timeout=5) as client:
            while True:
                await self._deliver(client, await self._queue.get())

    async def _deliver(self, client: httpx.AsyncClient, event: dict) -> None:
        body = {**event, **({"secret": self.secret} if self.secret else {})}
        for attempt in range(len(self.delays) + 1):
            headers = {"X-Retry-Counter": str(attempt)} if attempt else {}
            try:
                r = await client.post(str(self.url), json=body, headers=headers)
                status, answer = r.status_code, r.text.strip()
            except httpx.HTTPError as exc:
                status, answer = 0, type(exc).__name__
            self.log.append(
                {
                    "event_id": event["event_id"],
                    "type": event["type"],
                    "attempt": attempt,
                    "status": status,
                    "answer": answer[:50],
                }
            )
            if status == 200 and answer == "ok":
                return
            if attempt < len(self.delays):
                await asyncio.sleep(self.delays[attempt])
