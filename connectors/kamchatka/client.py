"""«Камчатка в порядке» HTTP client: the cabinet's API key as a bearer token, our rate limit before
every call and retries for reads only (the shared connectors/transport.py); the
`{"success", "data" | "error": {"code"}}` envelope classified by `error.code`."""

from __future__ import annotations

from typing import Any

from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.transport import BearerClient

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


def failed(status: int, data: Any) -> bool:
    return status >= 300 or not isinstance(data, dict) or data.get("success") is not True


class KamchatkaClient(BearerClient):
    """The token is the cabinet's API key. `get` returns the whole envelope (`data` and `meta`);
    `post` returns (`data`, HTTP status: 201 new, 200 replayed)."""

    platform = PLATFORM
    limit_prefix = "kamchatka"
    failed = staticmethod(failed)
    raise_for_error = staticmethod(raise_for_error)

    async def post(self, path: str, body: dict, *, idempotency_key: str | None = None) -> tuple[Any, int]:
        data, status = await super().post(path, body, idempotency_key=idempotency_key)
        return data["data"], status
