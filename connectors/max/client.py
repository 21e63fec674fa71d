"""Thin MAX Bot API client: one `request`, errors classified by the body's `code` and the HTTP status
(never by the message text).

The token goes in the `Authorization` header, raw (no "Bearer"): MAX no longer takes it in the query.
Every request first waits for the shared overall limit (MAX allows 30 requests per second per bot,
reads included). Reads are retried here on transient failures with jittered backoff (asking
GET /updates again is harmless: a marker confirms only what came before it); writes are not, since
MAX has no idempotency key and a second attempt could post twice — except `attachment.not.ready`,
which the platform answers *before* posting anything (see `send_retrying_not_ready`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.parsing import safe_text, seconds
from connectors.transport import read_retrying

API = "https://platform-api2.max.ru"
PLATFORM = "max"
Pace = Callable[[], Awaitable[None]]
NOT_READY = "attachment.not.ready"


def raise_for_error(status: int, body: Any, retry_after: Any = None) -> None:
    """Turn a MAX error answer (`{code, message}` with a 4xx/5xx status, or `{success: false, code}`)
    into our error classes; return quietly for a success."""
    failed = status >= 400 or (isinstance(body, dict) and body.get("success") is False)
    if not failed:
        return
    code = body.get("code") if isinstance(body, dict) else None
    code = code if isinstance(code, str) else None
    message = body.get("message") if isinstance(body, dict) else None
    desc = safe_text(str(message)[:300]) if isinstance(message, str) else f"HTTP {status}"
    label = code or status
    if code == "verify.token" or status == 401:
        raise AuthFailed(f"token rejected: {desc}", platform=PLATFORM, code=label, alert=True)
    if status == 429 or code == "too.many.requests":
        raise RateLimited(desc or "too many requests", retry_after=seconds(retry_after, 1.0),
                          platform=PLATFORM, code=label)
    if code in (NOT_READY, "internal.error") or status >= 500:
        raise Transient(desc, platform=PLATFORM, code=label)
    if code == "chat.denied":
        # The citizen stopped the bot, or the bot is not (or no longer) an admin of the chat:
        # retrying will not help, and the second case needs an operator.
        raise Fatal(f"chat denied: {desc}", platform=PLATFORM, code=label, alert=True)
    raise Fatal(desc, platform=PLATFORM, code=label)  # proto.payload, 404, 405, ...


class MaxClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        token: str,
        base_url: str | None = None,
        *,
        before: Pace | None = None,
        read_attempts: int = 3,
        backoff: float = 0.5,
        request_timeout: float = 20.0,
    ) -> None:
        self.http = http
        self.token = token
        self.base = (base_url or API).rstrip("/")
        self.before = before
        self.read_attempts = max(1, read_attempts)
        self.backoff = backoff
        self.request_timeout = request_timeout

    async def read(self, path: str, *, http_timeout: float | None = None, **params: Any) -> Any:
        """A GET that changes nothing, retried on transient failures."""
        async for attempt in read_retrying(self.read_attempts, self.backoff):
            with attempt:
                return await self.request("GET", path, params=params, http_timeout=http_timeout)

    async def send_retrying_not_ready(self, path: str, *, params: dict, body: dict, attempts: int = 5,
                                      pace: Pace | None = None) -> Any:
        """A POST with a just-uploaded attachment: MAX answers `attachment.not.ready` until it has
        processed the file, and that answer means nothing was posted, so it is safe to ask again."""
        for i in range(attempts):
            try:
                return await self.request("POST", path, params=params, json_body=body, pace=pace)
            except Transient as exc:
                if exc.code != NOT_READY or i == attempts - 1:
                    raise
                await asyncio.sleep(self.backoff * 2**i)

    async def request(self, method: str, path: str, *, params: dict | None = None, json_body: Any = None,
                      http_timeout: float | None = None, pace: Pace | None = None) -> Any:
        """One request, no retry; returns the JSON body or raises the classified error. `pace`
        replaces the usual wait for the overall limit (sends wait for more than that)."""
        pace = pace or self.before
        if pace is not None:
            await pace()
        query = {k: v for k, v in (params or {}).items() if v is not None}
        what = f"{method} {path.split('?')[0]}"
        try:
            r = await self.http.request(
                method, f"{self.base}{path}", params=query, json=json_body,
                headers={"Authorization": self.token}, timeout=http_timeout or self.request_timeout,
            )
        except httpx.TimeoutException as exc:
            raise Transient(f"{what} timed out", platform=PLATFORM) from exc
        except httpx.TransportError as exc:  # the message never names the URL or the token
            raise Transient(f"{what}: {type(exc).__name__}", platform=PLATFORM) from exc
        try:
            body = r.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            if r.status_code < 400 or r.status_code >= 500:
                raise Transient(f"{what}: malformed response (HTTP {r.status_code})", platform=PLATFORM,
                                code=r.status_code) from None
            body = None
        raise_for_error(r.status_code, body, r.headers.get("Retry-After"))
        return body

    async def upload_bytes(self, url: str, data: bytes, filename: str) -> Any:
        """Step 2 of an upload: the bytes to the upload host MAX named (multipart field `data`).
        The answer is JSON for files and images, `<retval>1</retval>` for video and audio."""
        request = self.http.build_request("POST", url, files={"data": (filename, data)},
                                          timeout=self.request_timeout * 3)
        request.read()  # the multipart body in memory: it is small, and recorders can then see it
        try:
            r = await self.http.send(request)
        except httpx.HTTPError as exc:
            raise Transient(f"upload: {type(exc).__name__}", platform=PLATFORM) from exc
        if r.status_code >= 400:
            raise_for_error(r.status_code, None)
        try:
            return r.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None
