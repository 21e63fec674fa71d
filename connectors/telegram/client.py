"""Thin Bot API client: one `call`, errors classified by `error_code` (never by description)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from connectors.errors import AuthFailed, Fatal, RateLimited, Transient

API = "https://api.telegram.org"


def raise_for_envelope(body: Any, status: int = 200) -> None:
    """Turn a Bot API error envelope into our error classes."""
    if not isinstance(body, dict):
        raise Transient("Telegram answered something that is not a JSON object", platform="telegram")
    if body.get("ok") is True:
        return
    code = body.get("error_code", status)
    desc = str(body.get("description", ""))[:300]
    params = body.get("parameters") or {}
    if code == 429:
        raise RateLimited(desc, retry_after=float(params.get("retry_after", 1)), platform="telegram", code=code)
    if code in (401, 404):  # 404 on the method path means the token is not a bot's
        raise AuthFailed(f"token rejected: {desc}", platform="telegram", code=code)
    if code == 409 or code >= 500:
        raise Transient(desc, platform="telegram", code=code)
    # 400 (message to reply not found, chat not found), 403 (bot blocked, kicked): retrying won't help.
    raise Fatal(desc, platform="telegram", code=code)


class TelegramClient:
    def __init__(self, http: httpx.AsyncClient, token: str, base_url: str | None = None) -> None:
        self.http = http
        self.token = token
        self.base = (base_url or API).rstrip("/")

    async def call_long(self, method: str, *, wait: int, **params: Any) -> Any:
        """A long poll: Telegram holds the request up to `wait` seconds, so our timeout is longer."""
        return await self.call(method, http_timeout=wait + 10.0, timeout=wait, **params)

    async def call(self, method: str, *, http_timeout: float | None = None, **params: Any) -> Any:
        payload = {k: v for k, v in params.items() if v is not None}
        url = f"{self.base}/bot{self.token}/{method}"
        try:
            kw = {"timeout": http_timeout} if http_timeout is not None else {}
            r = await self.http.post(url, json=payload, **kw)
        except httpx.TimeoutException as exc:
            raise Transient(f"{method} timed out", platform="telegram") from exc
        except httpx.TransportError as exc:
            raise Transient(f"{method}: {type(exc).__name__}", platform="telegram") from exc
        try:
            body = r.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            if r.status_code >= 500 or r.status_code == 200:
                raise Transient(f"{method}: malformed response (HTTP {r.status_code})", platform="telegram") from None
            raise_for_envelope({"ok": False, "error_code": r.status_code, "description": r.reason_phrase},
                               r.status_code)
        raise_for_envelope(body, r.status_code)
        return body["result"]
