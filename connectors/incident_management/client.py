"""Incident Management HTTP client: a bearer token, our rate limit before every call and retries
for reads only (the shared connectors/transport.py); errors classified by `error.code`, never by
message text."""

from __future__ import annotations

from typing import Any

from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.transport import BearerClient

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


def failed(status: int, data: Any) -> bool:
    return status >= 300 or data is None or (isinstance(data, dict) and "error" in data)


class ImClient(BearerClient):
    """`get` returns the body; `post` returns (body, HTTP status)."""

    platform = PLATFORM
    limit_prefix = "im"
    failed = staticmethod(failed)
    raise_for_error = staticmethod(raise_for_error)
