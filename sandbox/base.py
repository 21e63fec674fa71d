"""What every platform emulator shares: the aiohttp app, fault injection, and observation.

Subclasses add the platform's own routes in `setup_routes`, say how the platform spells an error
(`error_response`) and how a simulated citizen's message enters it (`inject`). Every write the
emulator receives from otklik (a posted reply) is kept in `self.replies` and served at
`GET /_sandbox/replies`, so tests and the demo can see exactly what was posted.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import json
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import web

from sandbox.faults import FaultInjector, FaultRule

ADMIN_PREFIX = "/_sandbox"


class ApiError(Exception):
    """A regional platform's error answer, raised by its simulated world: HTTP status and code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


async def run_action(
    request: web.Request,
    action: Callable[[int, Any], web.Response],
    fail: Callable[[int, str, str], web.Response],
    not_found: str,
) -> web.Response:
    """A regional emulator's handler after its guard: the path's `id` (404 NOT_FOUND `not_found`
    when not a number, 0 when absent), a POST's body (400 BAD_REQUEST unless a JSON object), then
    `action(id, body)`; an ApiError is answered with `fail(status, code, message)`."""
    try:
        item_id = int(request.match_info["id"]) if "id" in request.match_info else 0
    except ValueError:
        return fail(404, "NOT_FOUND", not_found)
    body: Any = {}
    if request.method == "POST":
        try:
            body = await request.json()
        except (ValueError, json.JSONDecodeError):
            return fail(400, "BAD_REQUEST", "Body is not JSON")
        if not isinstance(body, dict):
            return fail(400, "BAD_REQUEST", "Body must be a JSON object")
    try:
        return action(item_id, body)
    except ApiError as exc:
        return fail(exc.status, exc.code, str(exc))


def encode_seq_cursor(version: str, seq: int) -> str:
    """An opaque feed cursor: `version:seq` in unpadded URL-safe base64."""
    return base64.urlsafe_b64encode(f"{version}:{seq}".encode()).decode().rstrip("=")


def decode_seq_cursor(version: str, cursor: str) -> int | None:
    """The seq of a cursor `encode_seq_cursor(version, seq)` made; None for any other string."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        got, _, seq = text.partition(":")
        if got != version:
            raise ValueError(got)
        return int(seq)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        return None


def over_rate(windows: dict[str, deque[float]], key: str, limit: int) -> bool:
    """A per-key one-second sliding window on real time (the limit is about real request rates,
    whatever a test clock says): True when this request is one too many (it is not counted),
    otherwise it is counted and False."""
    now = time.monotonic()
    window = windows.setdefault(key, deque())
    while window and window[0] <= now - 1.0:
        window.popleft()
    if len(window) >= limit:
        return True
    window.append(now)
    return False


def busiest_second(times: list[float]) -> int:
    """The most requests an emulator saw in any one-second window (the figure the benchmarks hold
    against a platform's per-second limit)."""
    times = sorted(times)
    return max((bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times)), default=0)


class Emulator:
    name = "base"

    def __init__(self, *, seed: int = 0, clock: Any = None) -> None:
        self.faults = FaultInjector(seed)
        self.replies: list[dict[str, Any]] = []  # every reply otklik posted, in order
        self.requests = 0
        self.clock = clock or time.time  # tests move time (Telegram's 24 h retention, rate windows)
        self._seq = 0

    # -- to override -------------------------------------------------------------------------
    def setup_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def error_response(self, kind: str, rule: FaultRule) -> web.StreamResponse:
        """The platform's own envelope for an injected 5xx / 429 / auth fault."""
        if kind == "429":
            return web.json_response({"error": "too many requests"}, status=429,
                                     headers={"Retry-After": str(rule.retry_after)})
        if kind == "auth":
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.json_response({"error": "internal error"}, status=500)

    def inject(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Make a simulated citizen message appear on the platform; return what was created."""
        raise NotImplementedError

    def demo_secrets(self) -> dict[str, str]:
        """Secrets a connector needs to talk to this emulator (the demo puts them in its env)."""
        return {}

    def demo_options(self) -> dict[str, Any]:
        """Source options a connector needs for this emulator (group ids, application keys...)."""
        return {}

    # -- shared --------------------------------------------------------------------------------
    def next_id(self) -> int:
        self._seq += 1
        return self._seq

    def record_reply(self, reply: dict[str, Any]) -> None:
        self.replies.append({**reply, "received_at": self.clock()})

    @web.middleware
    async def _fault_middleware(self, request: web.Request, handler):
        if request.path.startswith(ADMIN_PREFIX):
            return await handler(request)
        self.requests += 1
        rule = self.faults.pick(request.path, {"5xx", "429", "slow", "timeout", "malformed", "auth"})
        if rule is None:
            return await handler(request)
        if rule.kind == "slow":
            # The request is taken in full first, so a client that gives up (or dies) meanwhile
            # still leaves a post behind — the ambiguous case retries must handle.
            await request.read()

            async def later():
                await asyncio.sleep(rule.delay)
                return await handler(request)

            # Shielded: aiohttp cancels a handler whose client went away; the platform does not.
            return await asyncio.shield(asyncio.ensure_future(later()))
        if rule.kind == "timeout":
            await asyncio.sleep(rule.delay)
            raise web.HTTPGatewayTimeout()
        if rule.kind == "malformed":
            return web.Response(text='{"ok": tru', content_type="application/json")
        return self.error_response(rule.kind, rule)

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._fault_middleware], client_max_size=8 * 1024 * 1024)
        app.router.add_get(f"{ADMIN_PREFIX}/replies", self._get_replies)
        app.router.add_post(f"{ADMIN_PREFIX}/faults", self._post_fault)
        app.router.add_delete(f"{ADMIN_PREFIX}/faults", self._clear_faults)
        app.router.add_post(f"{ADMIN_PREFIX}/inject", self._post_inject)
        app.router.add_get(f"{ADMIN_PREFIX}/state", self._get_state)
        self.setup_routes(app)
        return app

    async def _get_replies(self, request: web.Request) -> web.Response:
        return web.json_response({"replies": self.replies})

    async def _post_fault(self, request: web.Request) -> web.Response:
        rule = self.faults.add(await request.json())
        return web.json_response(rule.model_dump())

    async def _clear_faults(self, request: web.Request) -> web.Response:
        self.faults.clear()
        return web.json_response({"ok": True})

    async def _post_inject(self, request: web.Request) -> web.Response:
        return web.json_response(self.inject(await request.json()))

    async def _get_state(self, request: web.Request) -> web.Response:
        return web.json_response({"name": self.name, "requests": self.requests,
                                  "replies": len(self.replies), "faults_fired": len(self.faults.fired)})
