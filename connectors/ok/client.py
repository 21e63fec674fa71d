"""Thin OK client: signed `/fb.do` calls and the Bot API (`/graph/me/...`), errors classified by
`error_code` (never by message text), reads retried on transient failures, every call paced by
the limiter before OK has to complain.

Error classes (error codes from apiok.ru "Коды ошибок"):
- 102 session expired, 103 invalid session key → AuthFailed (pause the source, alert once);
- 101 unknown application, 104 bad signature, 10 / 200 permission denied → AuthFailed with
  `alert`: the configured application_key / application_secret_key / access_token do not belong
  together, or the token lacks a permission. A person must fix the configuration; meanwhile the
  poller pauses the source (retried daily) and the worker parks the reply instead of failing it;
- 8 flood, 11 / 25 limit reached → RateLimited (OK says nothing about how long: `flood_retry_after`);
- 1 unknown, 2 service, 26 / 27 network, 9999 system, HTTP 5xx, timeouts, malformed bodies → Transient;
- anything else (3 no such method, 100 bad parameter, 300 not found, 7 action blocked…) → Fatal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.ratelimit import Limiter

API = "https://api.ok.ru"
PLATFORM = "ok"
# Our window and OK's are measured at two ends of the wire: `rps` calls per 1.1 s on our side keeps
# OK's count per second within `rps` even when one request travels slower than the next.
WINDOW = 1.1
AUTH_CODES = {102, 103}
CONFIG_CODES = {10, 101, 104, 200}
FLOOD_CODES = {8}
LIMIT_CODES = {11, 25}
TRANSIENT_CODES = {1, 2, 26, 27, 9999}


def sign(params: dict[str, str], access_token: str, application_secret_key: str) -> str:
    """sig = md5(sorted "k=v" of every parameter except sig and access_token, concatenated,
    + md5(access_token + application_secret_key)), lowercase hex."""
    base = "".join(f"{k}={params[k]}" for k in sorted(params) if k not in ("sig", "access_token"))
    secret = hashlib.md5((access_token + application_secret_key).encode("utf-8")).hexdigest()
    return hashlib.md5((base + secret).encode("utf-8")).hexdigest()


def raise_for_error(body: Any, *, flood_retry_after: float = 5.0) -> None:
    """Turn OK's error envelope `{error_code, error_msg, error_data}` into our error classes."""
    if not isinstance(body, dict) or "error_code" not in body:
        return
    try:
        code = int(body["error_code"])
    except (TypeError, ValueError):
        raise Transient(
            f"OK answered an unreadable error code {body['error_code']!r}", platform=PLATFORM
        ) from None
    msg = str(body.get("error_msg") or "")[:300]
    if code in AUTH_CODES:
        raise AuthFailed(f"OK session rejected: {msg}", platform=PLATFORM, code=code)
    if code in CONFIG_CODES:
        raise AuthFailed(
            f"OK rejected the application keys, the signature or a permission: {msg}",
            platform=PLATFORM,
            code=code,
            alert=True,
        )
    if code in FLOOD_CODES:
        raise RateLimited(msg, retry_after=flood_retry_after, platform=PLATFORM, code=code)
    if code in LIMIT_CODES:
        raise RateLimited(msg, retry_after=3600.0, platform=PLATFORM, code=code, alert=True)
    if code in TRANSIENT_CODES:
        raise Transient(msg, platform=PLATFORM, code=code)
    raise Fatal(msg, platform=PLATFORM, code=code, alert=code == 7)


def _decode(r: httpx.Response, what: str, flood_retry_after: float) -> Any:
    if r.status_code == 429:
        try:
            wait = float(r.headers.get("Retry-After", flood_retry_after))
        except ValueError:
            wait = flood_retry_after
        raise RateLimited(f"{what}: HTTP 429", retry_after=wait, platform=PLATFORM, code=429)
    try:
        body = r.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        if r.status_code in (401, 403):
            raise AuthFailed(f"{what}: HTTP {r.status_code}", platform=PLATFORM, code=r.status_code) from None
        if r.status_code >= 500 or r.status_code == 200:
            raise Transient(
                f"{what}: malformed response (HTTP {r.status_code})", platform=PLATFORM, code=r.status_code
            ) from None
        raise Fatal(f"{what}: HTTP {r.status_code}", platform=PLATFORM, code=r.status_code) from None
    raise_for_error(body, flood_retry_after=flood_retry_after)
    if r.status_code >= 500:
        raise Transient(f"{what}: HTTP {r.status_code}", platform=PLATFORM, code=r.status_code)
    if r.status_code >= 400:
        raise Fatal(f"{what}: HTTP {r.status_code}", platform=PLATFORM, code=r.status_code)
    return body


class OkClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        limiter: Limiter,
        limit_key: str,
        application_key: str = "",
        access_token: str = "",
        application_secret_key: str = "",
        bot_token: str = "",
        base_url: str | None = None,
        rps: int = 3,
        bot_rps: int = 3,
        read_attempts: int = 3,
        retry_wait: float = 0.5,
        flood_retry_after: float = 5.0,
    ) -> None:
        self.http = http
        self.limiter = limiter
        self.limit_key = limit_key  # never the token itself: limiter keys may land in Redis
        self.application_key = application_key
        self.access_token = access_token
        self.secret_key = application_secret_key
        self.bot_token = bot_token
        self.base = (base_url or API).rstrip("/")
        self.rps = rps
        self.bot_rps = bot_rps
        self.read_attempts = max(1, read_attempts)
        self.retry_wait = retry_wait
        self.flood_retry_after = flood_retry_after

    async def _retrying(self, call: Callable[[], Awaitable[Any]], idempotent: bool) -> Any:
        if not idempotent:
            return await call()
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(Transient),
            stop=stop_after_attempt(self.read_attempts),
            wait=wait_random_exponential(multiplier=self.retry_wait, max=max(self.retry_wait * 8, 0.001)),
            reraise=True,
        ):
            with attempt:
                return await call()

    async def _http(self, what: str, method: str, url: str, **kw: Any) -> Any:
        try:
            r = await self.http.request(method, url, **kw)
        except httpx.TimeoutException as exc:
            raise Transient(f"{what} timed out", platform=PLATFORM) from exc
        except httpx.TransportError as exc:
            raise Transient(f"{what}: {type(exc).__name__}", platform=PLATFORM) from exc
        return _decode(r, what, self.flood_retry_after)

    def signed(self, method: str, params: dict[str, Any]) -> dict[str, str]:
        out = {
            k: ("true" if v is True else "false" if v is False else str(v))
            for k, v in params.items()
            if v is not None
        }
        out |= {"application_key": self.application_key, "method": method, "format": "json"}
        out["sig"] = sign(out, self.access_token, self.secret_key)
        out["access_token"] = self.access_token
        return out

    async def call(self, method: str, *, idempotent: bool = True, **params: Any) -> Any:
        """One `/fb.do` method, POSTed as a form (long comment texts do not fit a URL)."""

        async def once() -> Any:
            await self.limiter.wait(f"{self.limit_key}:rest", self.rps, WINDOW)
            return await self._http(method, "POST", f"{self.base}/fb.do", data=self.signed(method, params))

        return await self._retrying(once, idempotent)

    async def upload(self, url: str, files: list[tuple[str, Any]]) -> Any:
        """POST photos (media.Blob) as multipart fields to an upload URL OK gave (signed by OK in the
        URL itself, so nothing is added). Retried like a read: an upload posts nothing."""
        parts = [(field, (blob.name, blob.data, blob.mime)) for field, blob in files]

        async def once() -> Any:
            return await self._http("photo upload", "POST", url, files=parts, timeout=120.0)

        return await self._retrying(once, True)

    async def graph(
        self, http_method: str, path: str, *, body: dict[str, Any] | None = None, **params: Any
    ) -> Any:
        """A Bot API call; GETs are retried, POSTs (sending) are not."""
        if not self.bot_token:
            raise AuthFailed("the Bot API needs the secret 'bot_token'", platform=PLATFORM)
        query = {k: str(v) for k, v in params.items() if v is not None} | {"access_token": self.bot_token}

        async def once() -> Any:
            await self.limiter.wait(f"{self.limit_key}:bot", self.bot_rps, WINDOW)
            kw: dict[str, Any] = {"params": query}
            if body is not None:
                kw["content"] = json.dumps(body, ensure_ascii=False).encode("utf-8")
                kw["headers"] = {"Content-Type": "application/json;charset=utf-8"}
            return await self._http(path, http_method, f"{self.base}/graph/me/{path.lstrip('/')}", **kw)

        return await self._retrying(once, http_method == "GET")
