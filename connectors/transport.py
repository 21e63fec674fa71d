"""The HTTP plumbing the regional platforms' clients share (Incident Management, ПОС, «Камчатка в
порядке»): our rate limit before every call, transport failures as `Transient`, JSON bodies
decoded with a clear error, and jittered retries for calls that are safe to repeat.

What differs per platform — the error envelope and which codes mean what — stays in each client's
`raise_for_error`."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from connectors.errors import Transient
from connectors.ratelimit import Limiter

WINDOW = 1.1  # seconds: requests reach a platform with jitter; its one-second window must not overflow


def limit_key(prefix: str, secret: str) -> str:
    """A limiter key per credential that does not reveal it (keys can end up in Redis and logs)."""
    return f"{prefix}:" + hashlib.sha256(secret.encode()).hexdigest()[:12]


def read_retrying(attempts: int, wait: float) -> AsyncRetrying:
    """Jittered exponential backoff for idempotent calls; the last error is re-raised as it was."""
    return AsyncRetrying(
        retry=retry_if_exception_type(Transient),
        stop=stop_after_attempt(max(1, attempts)),
        wait=wait_random_exponential(multiplier=wait, max=5),
        reraise=True,
    )


class Transport:
    def __init__(
        self, http: httpx.AsyncClient, base_url: str, limiter: Limiter, key: str, rps: int, platform: str
    ) -> None:
        self.http = http
        self.base = base_url.rstrip("/")
        self.limiter = limiter
        self.key = key
        self.rps = rps
        self.platform = platform

    async def send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        await self.limiter.wait(self.key, self.rps, WINDOW)
        try:
            return await self.http.request(method, self.base + path, **kw)
        except httpx.TimeoutException as exc:
            raise Transient(f"{method} {path} timed out", platform=self.platform) from exc
        except httpx.TransportError as exc:
            raise Transient(f"{method} {path}: {type(exc).__name__}", platform=self.platform) from exc

    def decode(self, r: httpx.Response, what: str) -> Any:
        """The JSON body; None for an empty body or an unreadable error page (the status then
        speaks). A success or a 5xx that is not JSON is a proxy or a half-written answer: Transient."""
        if not r.content:
            return None
        try:
            return r.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            if r.status_code < 300 or r.status_code >= 500:
                raise Transient(
                    f"{what}: malformed response (HTTP {r.status_code})",
                    platform=self.platform,
                    code=r.status_code,
                ) from None
            return None
