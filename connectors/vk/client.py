"""Thin VK API client over httpx: `/method/<name>` with `v=5.199`, errors classified by
`error_code` (VK answers errors with HTTP 200). Why not `vk_api`: see connectors/vk/README.md."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.ratelimit import Limiter

API = "https://api.vk.com"
VERSION = "5.199"
# Requests per second a token may make (VK's documented limits): community ~20, user/service ~3.
RPS = {"community": 20, "user": 3, "service": 3}


def raise_for_error(body: Any) -> None:
    if not isinstance(body, dict):
        raise Transient("VK answered something that is not a JSON object", platform="vk")
    err = body.get("error")
    if not err:
        return
    code = err.get("error_code")
    msg = str(err.get("error_msg", ""))[:300]
    if code == 5:
        raise AuthFailed(f"VK token rejected: {msg}", platform="vk", code=code)
    if code in (6, 9):
        raise RateLimited(msg, retry_after=1.0 if code == 6 else 60.0, platform="vk", code=code)
    if code == 29:
        raise RateLimited(msg, retry_after=3600.0, platform="vk", code=code)
    if code == 14:
        # A captcha needs a person: the source pauses and the operator is alerted.
        raise AuthFailed(f"VK asks for a captcha (sid {err.get('captcha_sid')})", platform="vk", code=code, alert=True)
    if code == 27:
        raise AuthFailed(f"wrong token type for this method: {msg}", platform="vk", code=code, alert=True)
    if code in (1, 10):
        raise Transient(msg, platform="vk", code=code)
    raise Fatal(msg, platform="vk", code=code)  # 15 access denied, 100 bad params, 901 messages not allowed…


def random_id(reply_id: str) -> int:
    """messages.send dedupes by random_id: derive it from our reply id, so a retry is the same send."""
    return int.from_bytes(hashlib.sha256(reply_id.encode()).digest()[:4], "big") & 0x7FFFFFFF


class VkClient:
    def __init__(self, http: httpx.AsyncClient, token: str, *, token_type: str = "community",
                 base_url: str | None = None, limiter: Limiter, rps: int | None = None) -> None:
        self.http = http
        self.token = token
        self.base = (base_url or API).rstrip("/")
        self.limiter = limiter
        self.rps = rps or RPS.get(token_type, 3)
        self.key = "vk:" + hashlib.sha256(token.encode()).hexdigest()[:16]  # the limit is per token

    async def _post(self, url: str, data: dict[str, Any], timeout: float | None = None) -> Any:
        try:
            r = await self.http.post(url, data=data, timeout=timeout or 35.0)
        except httpx.TimeoutException as exc:
            raise Transient("VK request timed out", platform="vk") from exc
        except httpx.TransportError as exc:
            raise Transient(f"VK unreachable: {type(exc).__name__}", platform="vk") from exc
        if r.status_code >= 500:
            raise Transient(f"VK answered HTTP {r.status_code}", platform="vk", code=r.status_code)
        try:
            return r.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise Transient(f"VK answered malformed JSON (HTTP {r.status_code})", platform="vk") from None

    async def call(self, method: str, **params: Any) -> Any:
        # A window slightly longer than VK's second: ours and VK's are measured at two ends of the
        # wire, and we would rather never see error 6.
        await self.limiter.wait(self.key, self.rps, 1.1)
        data = {k: v for k, v in params.items() if v is not None}
        body = await self._post(f"{self.base}/method/{method}", {**data, "access_token": self.token, "v": VERSION})
        raise_for_error(body)
        return body.get("response")

    @retry(retry=retry_if_exception_type(Transient), stop=stop_after_attempt(3),
           wait=wait_random_exponential(multiplier=0.2, max=3), reraise=True)
    async def read(self, method: str, **params: Any) -> Any:
        """An idempotent read, retried on transient errors with jittered back-off."""
        return await self.call(method, **params)

    async def long_poll(self, server: str, key: str, ts: str, wait: int) -> dict:
        body = await self._post(server, {"act": "a_check", "key": key, "ts": ts, "wait": wait}, timeout=wait + 10.0)
        if not isinstance(body, dict):
            raise Transient("long poll answered something that is not a JSON object", platform="vk")
        return body
