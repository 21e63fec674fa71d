"""Webhook delivery as Telegram does it: each pending update is POSTed as JSON to the registered URL
with the `X-Telegram-Bot-Api-Secret-Token` header (when a secret was set); only a 2xx answer
confirms it, anything else is retried with growing pauses while the update is younger than 24 h,
and the last failure is shown by getWebhookInfo. Updates go one at a time, in order."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx

from sandbox.faults import FaultInjector
from sandbox.telegram.world import UpdateQueue

SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
TIMEOUT = 10.0  # Telegram gives an endpoint some seconds, then counts the attempt as failed
FIRST_PAUSE = 0.2
MAX_PAUSE = 5.0


class Webhook:
    def __init__(self) -> None:
        self.url = ""
        self.secret_token: str | None = None
        self.max_connections = 40
        self.allowed_updates: list[str] | None = None
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None
        self.delivered = 0  # 2xx answers, duplicates included
        self.attempts = 0
        self._task: asyncio.Task | None = None

    def set(
        self, url: str, secret_token: str | None, max_connections: int, allowed_updates: list[str] | None
    ) -> None:
        self.url = url
        self.secret_token = secret_token
        self.max_connections = max_connections
        self.allowed_updates = allowed_updates
        self.last_error_date = self.last_error_message = None

    def clear(self) -> None:
        self.set("", None, 40, None)

    def info(self, pending: int) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.url,
            "has_custom_certificate": False,
            "pending_update_count": pending,
        }
        if self.url:
            info["max_connections"] = self.max_connections
            if self.allowed_updates:
                info["allowed_updates"] = self.allowed_updates
        if self.last_error_date is not None:
            info["last_error_date"] = self.last_error_date
            info["last_error_message"] = self.last_error_message
        return info

    def kick(self, queue: UpdateQueue, faults: FaultInjector, clock) -> None:
        """Start delivering if a webhook is set and nobody is delivering yet (needs a running loop)."""
        if not self.url or (self._task is not None and not self._task.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # state built outside the server (unit tests): delivered on the next kick
            return
        self._task = loop.create_task(self._deliver(queue, faults, clock))

    async def _deliver(self, queue: UpdateQueue, faults: FaultInjector, clock) -> None:
        pause = FIRST_PAUSE
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            while self.url:
                pending = queue.pending(1)
                if not pending:
                    return
                update = pending[0]
                headers = {"X-Telegram-Bot-Api-Secret-Token": self.secret_token} if self.secret_token else {}
                self.attempts += 1
                try:
                    r = await client.post(self.url, json=update, headers=headers)
                    error = (
                        None
                        if 200 <= r.status_code < 300
                        else f"Wrong response from the webhook: {r.status_code} {r.reason_phrase}"
                    )
                except httpx.HTTPError as exc:
                    error = f"Connection error: {type(exc).__name__}"
                if error is None:
                    self.delivered += 1
                    if faults.pick("/webhook-delivery", {"duplicate"}):
                        continue  # the same update again, as after a lost acknowledgement
                    queue.confirm(update["update_id"] + 1)
                    pause = FIRST_PAUSE
                    continue
                self.last_error_date, self.last_error_message = int(clock()), error
                await asyncio.sleep(pause)
                pause = min(pause * 2, MAX_PAUSE)
