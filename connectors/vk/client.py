"""Thin VK API client over httpx: `POST /method/<name>` form-encoded with `v=5.199` and the token,
errors classified by `error_code` (VK answers them with HTTP 200), the Bots Long Poll request, and
our side of VK's limits (a per-token window kept *before* VK answers error 6).

Why httpx and not `vk_api`: see connectors/vk/README.md.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from connectors.errors import AuthFailed, ConnectorError, Fatal, RateLimited, Transient

API = "https://api.vk.com"
VERSION = "5.199"
TokenKind = Literal["community", "user", "service"]
# VK's documented limits are 20 requests/s per community token and 3/s per user token; service
# tokens are held to the user figure. We keep a margin in both count and window: the daemon
# (LocalLimiter) and the workers (RedisLimiter) count separately, and VK counts arrivals at its end
# of the wire, where a burst we sent at once may arrive spread over a few hundred milliseconds.
DEFAULT_RPS: dict[str, int] = {"community": 18, "user": 3, "service": 3}
WINDOW = 1.25  # seconds
MSK = timedelta(hours=3)

# Codes -> what the rest of otklik does about them (REGULATIONS-independent, platform facts).
AUTH = {5: "token rejected (revoked, expired or issued for another IP)"}
WRONG_TOKEN_TYPE = {
    27: "a community token may not call this method",
    28: "a service token may not call this method",
}
TRANSIENT = {1: "unknown error", 10: "internal server error"}
# Errors an operator must act on; the same request then succeeds.
OPERATOR = {
    7: "permission to perform this action is denied: the token lacks the right for this method "
       "(an operator must issue a new token with it — e.g. photos, video, market, wall, messages — "
       "and put it in the source's secrets)",
    17: "validation required: the token's owner must log in to VK in a browser and pass the "
        "security check (phone confirmation), then the token works again",
}
# Refusals of this one request: nothing to fix on our side, retrying will not help.
REFUSED = {
    15: "access denied to this object (its comments are closed, it is hidden or deleted, or the "
        "account is not allowed to act on it); the answer must be given another way",
    260: "access to the groups list is denied by the user's privacy settings",
}


def quota_retry_after(now: datetime | None = None) -> float:
    """Error 29 (daily quota) lifts when VK's day turns over: wait until just after midnight Moscow time."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    local = now + MSK
    next_midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (next_midnight - local).total_seconds() + 60.0


def classify(error: dict) -> ConnectorError:
    """VK's `error` object -> our error class, by `error_code` only (messages are localised)."""
    code = error.get("error_code")
    msg = str(error.get("error_msg", ""))[:300]
    if code in AUTH:
        return AuthFailed(f"VK {AUTH[code]}: {msg}", platform="vk", code=code)
    if code == 6:
        return RateLimited(
            f"VK: too many requests per second: {msg}", retry_after=1.0, platform="vk", code=code
        )
    if code == 9:
        # Flood control lasts minutes, not a second: the worker puts the reply back in the outbox.
        return RateLimited(f"VK flood control: {msg}", retry_after=60.0, platform="vk", code=code)
    if code == 29:
        return RateLimited(
            f"VK daily quota reached: {msg}", retry_after=quota_retry_after(), platform="vk", code=code
        )
    if code == 14:
        # A captcha needs a person; AuthFailed pauses polling and parks the delivery (not failed: once
        # the operator has dealt with it the same reply can be sent again). captcha_img is a public URL.
        return AuthFailed(
            f"VK asks for a captcha (sid {error.get('captcha_sid')}): an operator must solve it "
            f"in the VK interface as the token's owner",
            platform="vk",
            code=code,
            alert=True,
        )
    if code in WRONG_TOKEN_TYPE:
        return AuthFailed(
            f"wrong token type: {WRONG_TOKEN_TYPE[code]} ({msg})", platform="vk", code=code, alert=True
        )
    if code in TRANSIENT:
        return Transient(f"VK {TRANSIENT[code]}: {msg}", platform="vk", code=code)
    if code in OPERATOR:
        # The token or its owner needs a person; once done, the same request succeeds: AuthFailed
        # pauses the source (with an alert) and parks the delivery instead of failing it. Only our
        # text goes into the message: 17 carries a redirect_uri bound to the owner's session.
        return AuthFailed(f"VK error {code}: {OPERATOR[code]}", platform="vk", code=code, alert=True)
    if code in REFUSED:
        return Fatal(f"VK error {code}: {REFUSED[code]} ({msg})", platform="vk", code=code)
    # 3 unknown method, 100 bad parameter, 212/213 comments closed, 901/902 the citizen does not
    # accept messages from the community: retrying the same request will not help.
    return Fatal(f"VK error {code}: {msg}", platform="vk", code=code)


def raise_for_error(body: Any) -> None:
    if not isinstance(body, dict):
        raise Transient("VK answered something that is not a JSON object", platform="vk")
    error = body.get("error")
    if isinstance(error, dict):
        raise classify(error)


def token_key(token: str) -> str:
    """The limiter key for a token: VK's limits are per token; the key must not reveal it."""
    return "vk:" + hashlib.sha256(token.encode()).hexdigest()[:16]


def random_id(reply_id: str) -> int:
    """messages.send dedupes by random_id (0 means "no check"): a positive 31-bit int from our reply id."""
    value = int.from_bytes(hashlib.sha256(reply_id.encode()).digest()[:4], "big") & 0x7FFFFFFF
    return value or 1


def guid(reply_id: str) -> str:
    """wall.createComment / board.createComment dedupe by guid: the same reply always has the same one."""
    return "otklik-" + hashlib.sha256(reply_id.encode()).hexdigest()[:32]


class VkClient:
    """One token. `call` is one attempt (writes: the worker owns their retries); `read` retries
    idempotent reads on transient errors with jittered exponential back-off."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        token: str,
        *,
        kind: TokenKind = "community",
        base_url: str | None = None,
        limiter: Any,
        rps: int | None = None,
        attempts: int = 3,
        backoff: float = 0.3,
    ) -> None:
        self.http = http
        self.token = token
        self.kind = kind
        self.base = (base_url or API).rstrip("/")
        self.limiter = limiter
        self.rps = int(rps or DEFAULT_RPS[kind])
        self.window = WINDOW
        self.key = token_key(token)
        self.attempts = attempts
        self.backoff = backoff

    async def _send(
        self,
        method: str,
        url: str,
        *,
        data: dict | None = None,
        params: dict | None = None,
        timeout: float | None = None,
    ) -> Any:
        try:
            r = await self.http.request(
                method, url, data=data, params=params, **({"timeout": timeout} if timeout else {})
            )
        except httpx.TimeoutException as exc:
            raise Transient("VK request timed out", platform="vk") from exc
        except httpx.TransportError as exc:
            raise Transient(f"VK unreachable: {type(exc).__name__}", platform="vk") from exc
        if r.status_code == 429:
            retry_after = r.headers.get("Retry-After", "1")
            raise RateLimited(
                "VK answered HTTP 429",
                platform="vk",
                code=429,
                retry_after=float(retry_after) if retry_after.isdigit() else 1.0,
            )
        if r.status_code >= 500:
            raise Transient(f"VK answered HTTP {r.status_code}", platform="vk", code=r.status_code)
        try:
            body = r.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            if r.status_code == 200:
                raise Transient("VK answered malformed JSON", platform="vk") from None
            raise Fatal(f"VK answered HTTP {r.status_code}", platform="vk", code=r.status_code) from None
        return body

    async def call(self, method: str, **params: Any) -> Any:
        await self.limiter.wait(self.key, self.rps, self.window)
        data = {k: _wire(v) for k, v in params.items() if v is not None}
        body = await self._send(
            "POST", f"{self.base}/method/{method}", data={**data, "access_token": self.token, "v": VERSION}
        )
        raise_for_error(body)
        if "response" not in body:
            raise Transient(f"{method}: VK answered without a response", platform="vk")
        return body["response"]

    async def upload(self, url: str, field: str, name: str, data: bytes, mime: str) -> dict:
        """POST a file to an upload server a `*.get*UploadServer` method gave (not a method call:
        VK's limits do not count it). Retried on transient errors: an upload posts nothing."""
        async def once() -> dict:
            try:
                r = await self.http.post(url, files={field: (name, data, mime)}, timeout=120.0)
            except httpx.HTTPError as exc:
                raise Transient(f"VK upload failed: {type(exc).__name__}", platform="vk") from exc
            if r.status_code >= 500:
                raise Transient(f"VK upload answered HTTP {r.status_code}", platform="vk", code=r.status_code)
            try:
                body = r.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise Fatal(f"VK upload answered HTTP {r.status_code}, not JSON", platform="vk") from None
            if not isinstance(body, dict) or body.get("error"):
                raise Fatal("VK upload server refused the file", platform="vk")
            return body

        return await self._retrying(once)

    async def _retrying(self, fn, *args, **kw) -> Any:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(Transient),
            stop=stop_after_attempt(self.attempts),
            wait=wait_random_exponential(multiplier=self.backoff, max=5.0),
            reraise=True,
        ):
            with attempt:
                return await fn(*args, **kw)

    async def read(self, method: str, **params: Any) -> Any:
        return await self._retrying(self.call, method, **params)

    async def long_poll(self, server: str, key: str, ts: str, wait: int) -> dict:
        """`{server}?act=a_check&key=…&ts=…&wait=…`: not a method call, so VK's method limits do not
        count it; idempotent (the ts moves only when we ask with the next one), so it is retried."""

        async def once() -> dict:
            body = await self._send(
                "GET",
                server,
                params={"act": "a_check", "key": key, "ts": ts, "wait": wait},
                timeout=wait + 10.0,
            )
            if not isinstance(body, dict):
                raise Transient("VK long poll answered something that is not a JSON object", platform="vk")
            raise_for_error(body)
            return body

        return await self._retrying(once)


def _wire(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
