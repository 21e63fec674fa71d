"""Incident Management HTTP client: bearer token, our rate limit before every call (the shared
connectors/transport.py), errors classified by `error.code` (never by message text), retries for
reads only."""

from __future__ import annotations

from typing import Any

import httpx

from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.ratelimit import Limiter
from connectors.transport import Transport, limit_key, read_retrying

PLATFORM = "incident_management"
AUTH_CODES = {"unauthorized", "token_revoked", "token_expired"}
TRANSIENT_CODES = {"internal", "unavailable", "timeout"}
FATAL_CODES = {"not_found", "validation_failed", "conflict", "bad_request"}


def raise_for_error(body: Any, status: int, retry_after: str | None = None) -> None:
    """Turn an error envelope `{"error": {"code", "message", "retry_after"?}}` into our errors;
    `retry_after` is the Retry-After header, used when the envelope has none."""
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        if status >= 500 or status == 200:
            raise Transient(f"HTTP {status} without an error envelope", platform=PLATFORM, code=status)
        if status == 429:
            raise RateLimited("HTTP 429", retry_after=float(retry_after or 1), platform=PLATFORM, code=status)
        if status in (401, 403):
            raise AuthFailed(f"HTTP {status}", platform=PLATFORM, code=status)
        raise Fatal(f"HTTP {status}", platform=PLATFORM, code=status)
    code = str(err.get("code", ""))
    message = str(err.get("message", ""))[:300]
    if code == "rate_limited":
        wait = float(err.get("retry_after") or retry_after or 1)
        raise RateLimited(message, retry_after=wait, platform=PLATFORM, code=code)
    if code in AUTH_CODES:
        raise AuthFailed(message, platform=PLATFORM, code=code)
    if code == "forbidden":  # the token lacks a scope: an operator must fix it, retries will not
        raise AuthFailed(message, platform=PLATFORM, code=code, alert=True)
    if code in TRANSIENT_CODES or (code not in FATAL_CODES and status >= 500):
        raise Transient(message, platform=PLATFORM, code=code)
    raise Fatal(message, platform=PLATFORM, code=code or status)


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
        self.token = token
        self.read_attempts = read_attempts
        self.retry_wait = retry_wait
        self.transport = Transport(http, base_url, limiter, limit_key("im", token), rps, PLATFORM)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        body: dict | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[Any, int]:
        auth = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        r = await self.transport.send(method, path, params=params, json=body, headers=auth)
        data = self.transport.decode(r, f"{method} {path}")
        if r.status_code >= 300 or data is None or (isinstance(data, dict) and "error" in data):
            raise_for_error(data, r.status_code, r.headers.get("Retry-After"))
        return data, r.status_code

    async def get(self, path: str, **params: Any) -> Any:
        """Reads are safe to repeat: transient failures are retried with jittered backoff."""
        query = {k: v for k, v in params.items() if v is not None}
        async for attempt in read_retrying(self.read_attempts, self.retry_wait):
            with attempt:
                data, _ = await self._request("GET", path, params=query)
        return data

    async def post(self, path: str, body: dict, *, idempotency_key: str | None = None) -> tuple[Any, int]:
        """Writes are not retried here (the worker owns send retries); returns (body, HTTP status)."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return await self._request("POST", path, body=body, headers=headers)
