"""A stand-in for the daemon's /webhooks/<source> endpoint: what Telegram's webhook deliveries hit
in tests and when recording cassettes. Serve it with sandbox.runner.serving like an emulator."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

# (body, headers) -> (status, text): e.g. a connector's handle_webhook wrapped the daemon's way.
Handler = Callable[[bytes, Mapping[str, str]], Awaitable[tuple[int, str]]]


async def accept_all(body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
    return 200, "ok"


class WebhookReceiver:
    name = "webhook-receiver"

    def __init__(
        self, handler: Handler = accept_all, *, fail_first: int = 0, path: str = "/webhooks/telegram"
    ) -> None:
        self.path = path
        self.handler = handler
        self.fail_first = fail_first  # answer 500 to this many deliveries before handling any
        self.received: list[dict[str, Any]] = []  # {"headers", "json", "status", "text"} per delivery

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(self.path, self._receive)
        return app

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.fail_first > 0:
            self.fail_first -= 1
            status, text = 500, "endpoint is down"
        else:
            status, text = await self.handler(body, request.headers)
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        self.received.append(
            {"headers": dict(request.headers), "json": payload, "status": status, "text": text}
        )
        return web.Response(status=status, text=text)
