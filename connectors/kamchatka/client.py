"""«Камчатка в порядке» HTTP client: the cabinet's API key, our rate limit before every call
(the shared connectors/transport.py), the
`{"success", "data" | "error": {"code"}}` envelope classified by `error.code`, retries for reads."""

from __future__ import annotations

from typing import Any

import httpx

from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.ratelimit import Limiter
from connectors.transport import Transport, limit_key, read_retrying

PLATFORM = "kamchatka"
AUTH_CODES = {"TOKEN_MISSING", "TOKEN_INVALID", "TOKEN_REVOKED"}
TRANSIENT_CODES = {"INTERNAL_ERROR", "SERVICE_UNAVAILABLE"}
OPERATOR_CODES = {"FORBIDDEN", "CURSOR_INVALID"}  # retrying cannot help; someone must look


def raise_for_error(body: Any, status: int, retry_after: str | None = None) -> None:
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        if status >= 500 or status < 300:
            raise Transient(f"HTTP {status} without an error envelope", platform=PLATFORM, code=status)
        if status == 429:
            raise RateLimited("HTTP 429", retry_after=float(retry_after or 1), platform=PLATFORM, code=status)
        if status == 401:
            raise AuthFailed("HTTP 401", platform=PLATFORM, code=status)
        raise Fatal(f"HTTP {status}", platform=PLATFORM, code=status)
    code = str(err.get("code", ""))
    message = str(err.get("message", ""))[:300]
    if code == "RATE_LIMIT":
        raise RateLimited(message, retry_after=float(retry_after or 1), platform=PLATFORM, code=code)
    if code in AUTH_CODES:
        raise AuthFailed(message, platform=PLATFORM, code=code)
    if code == "FORBIDDEN":
        raise AuthFailed(message, platform=PLATFORM, code=code, alert=True)
    if code in TRANSIENT_CODES or status >= 500:
        raise Transient(message, platform=PLATFORM, code=code)
    raise Fatal(message, platform=PLATFORM, code=code or status, alert=code in OPERATOR_CODES)


class KamchatkaClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        api_key: str,
        base_url: str,
        limiter: Limiter,
        rps: int = 4,
        read_attempts: int = 4,
        retry_wait: float = 0.2,
    ) -> None:
        self.api_key = api_key
        self.read_attempts = read_attempts
        self.retry_wait = retry_wait
        self.transport = Transport(http, base_url, limiter, limit_key("kamchatka", api_key), rps, PLATFORM)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        body: dict | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[Any, int]:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        r = await self.transport.send(method, path, params=params, json=body, headers=headers)
        data = self.transport.decode(r, f"{method} {path}")
        if r.status_code >= 300 or not isinstance(data, dict) or data.get("success") is not True:
            raise_for_error(data, r.status_code, r.headers.get("Retry-After"))
        return data, r.status_code

    async def get(self, path: str, **params: Any) -> dict[str, Any]:
        """The whole envelope (`data` and `meta`); transient failures retried with jittered backoff."""
        query = {k: v for k, v in params.items() if v is not None}
        async for attempt in read_retrying(self.read_attempts, self.retry_wait):
            with attempt:
                data, _ = await self._request("GET", path, params=query)
        return data

    async def post(self, path: str, body: dict, *, idempotency_key: str | None = None) -> tuple[Any, int]:
        """Writes are not retried here; returns (`data`, HTTP status: 201 new, 200 replayed)."""
        data, status = await self._request("POST", path, body=body, idempotency_key=idempotency_key)
        return data["data"], status
