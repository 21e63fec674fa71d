"""The HTTP plumbing the regional platforms' clients share (Incident Management, ПОС, «Камчатка в
порядке»): our rate limit before every call, transport failures as `Transient`, JSON bodies
decoded with a clear error, jittered retries for calls that are safe to repeat, a source's
client options, and `BearerClient` for the APIs behind a bearer token.

What differs per platform — the error envelope and which codes mean what — stays in each client's
`failed` and `raise_for_error`."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from connectors.errors import Fatal, Transient
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


def client_options(options: dict[str, Any], rps: int) -> dict[str, Any]:
    """A source's request rate (kept under the platform's limit; `rps` when unset) and its read
    retries, from the source's options."""
    return {
        "rps": int(options.get("rps", rps)),
        "read_attempts": int(options.get("read_attempts", 4)),
        "retry_wait": float(options.get("retry_wait", 0.2)),
    }


class BearerClient:
    """A JSON API behind a bearer token (Incident Management, «Камчатка в порядке»). Reads are
    safe to repeat and are retried with jittered backoff; writes are not retried here (the worker
    owns send retries) and may carry an Idempotency-Key. A subclass names its platform and says
    which answers are errors (`failed`) and what they mean (`raise_for_error`)."""

    platform: str
    limit_prefix: str  # of the limiter key, which hashes the token

    def __init__(
        self,
        http: httpx.AsyncClient,
        token: str,
        base_url: str,
        limiter: Limiter,
        rps: int,
        read_attempts: int = 4,
        retry_wait: float = 0.2,
    ) -> None:
        self.token = token
        self.read_attempts = read_attempts
        self.retry_wait = retry_wait
        key = limit_key(self.limit_prefix, token)
        self.transport = Transport(http, base_url, limiter, key, rps, self.platform)

    @classmethod
    def for_source(cls, connector: Any, secret: str, *, rps: int, no_address: str) -> Any:
        """The client of a connector's source: the secret `secret` as the bearer token, the source's
        base_url, its rate and read retries (`rps` when unset). A source without a base_url is a
        configuration error: `no_address` says what to set."""
        config = connector.config
        if not config.base_url:
            raise Fatal(no_address, platform=connector.platform)
        return cls(
            connector.http,
            config.secret(secret),
            config.base_url,
            connector.limiter,
            **client_options(config.options, rps=rps),
        )

    @staticmethod
    def failed(status: int, data: Any) -> bool:
        raise NotImplementedError

    @staticmethod
    def raise_for_error(body: Any, status: int, retry_after: str | None = None) -> None:
        raise NotImplementedError

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        body: dict | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[Any, int]:
        """(decoded body, HTTP status) of one call; an error answer raises our error for it."""
        headers = {"Authorization": f"Bearer {self.token}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        r = await self.transport.send(method, path, params=params, json=body, headers=headers)
        data = self.transport.decode(r, f"{method} {path}")
        if self.failed(r.status_code, data):
            self.raise_for_error(data, r.status_code, r.headers.get("Retry-After"))
        return data, r.status_code

    async def get(self, path: str, **params: Any) -> Any:
        """A read (parameters that are None are left out), retried on transient failures."""
        query = {k: v for k, v in params.items() if v is not None}
        async for attempt in read_retrying(self.read_attempts, self.retry_wait):
            with attempt:
                data, _ = await self.request("GET", path, params=query)
        return data

    async def post(self, path: str, body: dict, *, idempotency_key: str | None = None) -> tuple[Any, int]:
        return await self.request("POST", path, body=body, idempotency_key=idempotency_key)
