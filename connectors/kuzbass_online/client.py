"""«Кузбасс Онлайн» HTTP client: the organisation's token as a bearer token, our rate limit before
every call and retries for reads only (the shared connectors/transport.py); errors are
`{"error": {"code", "message"}}` with the HTTP status, classified by `error.code`."""

from __future__ import annotations

from typing import Any

from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.parsing import seconds
from connectors.transport import BearerClient

PLATFORM = "kuzbass_online"
AUTH_CODES = {"UNAUTHORIZED", "TOKEN_EXPIRED"}
TRANSIENT_CODES = {"INTERNAL", "UNAVAILABLE"}
OPERATOR_CODES = {"FORBIDDEN", "BAD_CURSOR"}  # retrying cannot help; someone must look


def raise_for_error(body: Any, status: int, retry_after: str | None = None) -> None:
    err = body.get("error") if isinstance(body, dict) else None
    if status == 429 or (isinstance(err, dict) and err.get("code") == "TOO_MANY_REQUESTS"):
        raise RateLimited("HTTP 429", retry_after=seconds(retry_after), platform=PLATFORM, code=429)
    if not isinstance(err, dict):
        if status >= 500 or status < 300:
            raise Transient(f"HTTP {status} without an error body", platform=PLATFORM, code=status)
        if status == 401:
            raise AuthFailed("HTTP 401", platform=PLATFORM, code=status)
        raise Fatal(f"HTTP {status}", platform=PLATFORM, code=status)
    code = str(err.get("code", ""))[:60]
    message = str(err.get("message", ""))[:300]
    if code in AUTH_CODES or status == 401:
        raise AuthFailed(message, platform=PLATFORM, code=code)
    if code == "FORBIDDEN":
        raise AuthFailed(message, platform=PLATFORM, code=code, alert=True)
    if code in TRANSIENT_CODES or status >= 500:
        raise Transient(message, platform=PLATFORM, code=code)
    raise Fatal(message, platform=PLATFORM, code=code or status, alert=code in OPERATOR_CODES)


def failed(status: int, data: Any) -> bool:
    return status >= 300 or not isinstance(data, dict) or "error" in data


class KuzbassOnlineClient(BearerClient):
    """The token is the organisation's (the municipality's) API token. `get` returns the body;
    `post` returns (body, HTTP status: 201 new, 200 replayed or already so)."""

    platform = PLATFORM
    limit_prefix = "kuzbass_online"
    failed = staticmethod(failed)
    raise_for_error = staticmethod(raise_for_error)
