"""Incident Management HTTP client: bearer token, our rate limit before every call, errors
classified by `error.code` (never by message text), retries for reads only."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.ratelimit import Limiter

WINDOW = 1.1  # seconds of our rate window (the platform counts per second)
PLATFORM = "incident_management"
AUTH_CODES = {"unauthorized", "token_revoked", "token_expired"}
TRANSIENT_CODES = {"internal", "unavailable", "timeout"}
FATAL_CODES = {"not_found", "validation_failed", "conflict", "bad_request"}


def raise_for_error(body: Any, status: int) -> None:
    """Turn an error envelope `{"error": {"code", "message", "retry_after"?}}` into our errors."""
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        if status >= 500 or status == 200:
            raise Transient(f"HTTP {status} without an error envelope", platform=PLATFORM, code=status)
        if status == 429:
            raise RateLimited("HTTP 429", retry_after=1.0, platform=PLATFORM, code=status)
        if status in (401, 403):
            raise AuthFailed(f"HTTP {status}", platform=PLATFORM, code=status)
        raise Fatal(f"HTTP {status}", platform=PLATFORM, code=status)
    code = str(err.get("code", ""))
    message = str(err.get("message", ""))[:300]
    if code == "rate_limited":
        raise RateLimited(message, retry_after=float(err.get("retry_after", 1)), platform=PLATFORM, code=code)
    if code in AUTH_CODES:
        raise AuthFailed(message, platform=PLATFORM, code=code)
    if code == "forbidden":  # the token lacks a scope: an operator must fix it, retries will not
        raise AuthFailed(message, platform=PLATFORM, code=code, alert=True)
    if code in TRANSIENT_CODES or (code not in FATAL_CODES and status >= 500):
        raise Transient(message, platform=PLATFORM, code=code)
    raise Fatal(message, platform=PLATFORM, code=code or status)


def _retrying(attempts: int, wait: float) -> AsyncRetrying:
    """Jittered exponential backoff for idempotent calls; the last error is re-raised as it was."""
    return AsyncRetrying(
        retry=retry_if_exception_type(Transient),
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=wait, max=5),
        reraise=True,
    )


class ImClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        token: str,
        base_url: str,
        limiter: Limiter,
        rps: int = 8,
        read_attempts: int = 4,
        retry_wait: float = 0.2,
    ) -> None:
        self.http = http
        self.token = token
        self.base = base_url.rstrip("/")
        self.limiter = limiter
        self.rps = rps
        self.read_attempts = max(1, read_attempts)
        self.retry_wait = retry_wait
        # The limit is per token; the key must not reveal it (keys can end up in Redis and logs).
        self.limit_key = "im:" + hashlib.sha256(token.encode()).hexdigest()[:12]

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        body: dict | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[Any, int]:
        # `rps` calls per 1.1 s: requests reach the platform with some jitter, and its one-second
        # window must never see more than its limit.
        await self.limiter.wait(self.limit_key, self.rps, WINDOW)
        try:
            r = await self.http.request(
                method,
                self.base + path,
                params=params,
                json=body,
                headers={"Authorization": f"Bearer {self.token}", **(headers or {})},
            )
        except httpx.TimeoutException as exc:
            raise Transient(f"{method} {path} timed out", platform=PLATFORM) from exc
        except httpx.TransportError as exc:
            raise Transient(f"{method} {path}: {type(exc).__name__}", platform=PLATFORM) from exc
        try:
            data = r.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            if r.status_code < 300 or r.status_code >= 500:
                raise Transient(
                    f"{method} {path}: malformed response (HTTP {r.status_code})",
                    platform=PLATFORM,
                    code=r.status_code,
                ) from None
            data = None
        if r.status_code >= 300 or (isinstance(data, dict) and "error" in data):
            if isinstance(data, dict) and isinstance(data.get("error"), dict) and "Retry-After" in r.headers:
                data["error"].setdefault("retry_after", r.headers["Retry-After"])
            raise_for_error(data, r.status_code)
        return data, r.status_code

    async def get(self, path: str, **params: Any) -> Any:
        """Reads are safe to repeat: transient failures are retried with jittered backoff."""
        query = {k: v for k, v in params.items() if v is not None}
        async for attempt in _retrying(self.read_attempts, self.retry_wait):
            with attempt:
                data, _ = await self._request("GET", path, params=query)
        return data

    async def post(self, path: str, body: dict, *, idempotency_key: str | None = None) -> tuple[Any, int]:
        """Writes are not retried here (the worker owns send retries); returns (body, HTTP status)."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return await self._request("POST", path, body=body, headers=headers)
