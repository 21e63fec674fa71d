"""Thin Bot API client: one `call`, errors classified by `error_code` (never by description).

Reads (getUpdates, getMe, getWebhookInfo) are retried here on transient failures with jittered
exponential backoff: asking again is harmless, getUpdates included, since an offset confirms only
what came before it. Writes (sendMessage) are never retried here: Telegram has no idempotency key,
so a second attempt could post twice; the worker decides.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.parsing import safe_text, seconds

API = "https://api.telegram.org"
PLATFORM = "telegram"


def raise_for_envelope(body: Any, status: int = 200) -> None:
    """Turn a Bot API error envelope `{ok: false, error_code, description, parameters?}` into our
    error classes; return quietly for `{ok: true}`."""
    if not isinstance(body, dict):
        raise Transient("Telegram answered something that is not a JSON object", platform=PLATFORM)
    if body.get("ok") is True:
        return
    try:
        code = int(body.get("error_code", status))
    except (TypeError, ValueError, OverflowError):
        code = status
    desc = safe_text(str(body.get("description", ""))[:300])
    params = body.get("parameters") or {}
    if code == 429:
        retry_after = seconds(params.get("retry_after", 1)) if isinstance(params, dict) else 1.0
        raise RateLimited(desc or "Too Many Requests", retry_after=retry_after, platform=PLATFORM, code=code)
    if code in (401, 404):  # 404 on the method path: the token is not a bot's (or was mistyped)
        raise AuthFailed(f"token rejected: {desc}", platform=PLATFORM, code=code)
    if code == 409:
        # A configuration problem, not a passing one: asking again gets the same answer until an
        # operator changes something, so it is Fatal with an alert (shown in /healthz and alerts).
        raise Fatal(conflict_advice(desc), platform=PLATFORM, code=code, alert=True)
    if code >= 500:
        raise Transient(desc or f"HTTP {code}", platform=PLATFORM, code=code)
    # 400 (message to be replied not found, chat not found, text too long), 403 (bot blocked by the
    # user, kicked from the group): asking again will not help.
    raise Fatal(desc or f"HTTP {code}", platform=PLATFORM, code=code)


def conflict_advice(desc: str) -> str:
    """What an operator must do about 409 Conflict. The class comes from the code; the description
    only picks which of Telegram's two conflicts to explain."""
    if "webhook" in desc.lower():  # "can't use getUpdates method while webhook is active"
        return (
            f"Telegram 409 ({desc}): a webhook is set for this bot, so polling is refused. Delete the "
            "webhook (deleteWebhook) to keep polling, or switch the source to webhook mode "
            "(options.webhook = true, secret webhook_secret)"
        )
    return (
        f"Telegram 409 ({desc}): another process polls getUpdates with this bot's token. Run one "
        "poller per token: stop the other instance, or give this source its own bot"
    )


def _worth_retrying(exc: BaseException) -> bool:
    return isinstance(exc, Transient)


class TelegramClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        token: str,
        base_url: str | None = None,
        *,
        read_attempts: int = 3,
        backoff: float = 0.5,
        request_timeout: float = 20.0,
    ) -> None:
        self.http = http
        self.token = token
        self.base = (base_url or API).rstrip("/")
        self.read_attempts = max(1, read_attempts)
        self.backoff = backoff
        self.request_timeout = request_timeout

    async def read(self, method: str, *, http_timeout: float | None = None, **params: Any) -> Any:
        """A call that changes nothing on the platform, retried on transient failures."""
        retrying = AsyncRetrying(
            retry=retry_if_exception(_worth_retrying),
            stop=stop_after_attempt(self.read_attempts),
            wait=wait_random_exponential(multiplier=self.backoff, max=10 * self.backoff),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self.call(method, http_timeout=http_timeout, **params)

    async def long_poll(self, *, wait: int, **params: Any) -> list[dict]:
        """getUpdates: Telegram holds the request up to `wait` seconds, so our timeout is longer."""
        return await self.read("getUpdates", http_timeout=wait + self.request_timeout, timeout=wait, **params)

    async def call(self, method: str, *, http_timeout: float | None = None,
                   files: dict[str, tuple[str, bytes, str]] | None = None, **params: Any) -> Any:
        """One request, no retry; returns `result` or raises the classified error. With `files`
        (field -> (name, bytes, mime)) it is sent as multipart/form-data, objects JSON-encoded, as
        the Bot API takes uploads."""
        payload = {k: v for k, v in params.items() if v is not None}
        url = f"{self.base}/bot{self.token}/{method}"
        try:
            if files:
                form = {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in payload.items()}
                r = await self.http.post(url, data=form, files=files,
                                         timeout=(http_timeout or self.request_timeout) * 3)
            else:
                r = await self.http.post(url, json=payload, timeout=http_timeout or self.request_timeout)
        except httpx.TimeoutException as exc:
            raise Transient(f"{method} timed out", platform=PLATFORM) from exc
        except httpx.TransportError as exc:  # the message never names the URL, so no token leaks
            raise Transient(f"{method}: {type(exc).__name__}", platform=PLATFORM) from exc
        try:
            body = r.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            if r.status_code >= 500 or r.status_code < 400:
                raise Transient(
                    f"{method}: malformed response (HTTP {r.status_code})",
                    platform=PLATFORM,
                    code=r.status_code,
                ) from None
            body = {"ok": False, "error_code": r.status_code, "description": r.reason_phrase}
        raise_for_envelope(body, r.status_code)
        if "result" not in body:
            raise Transient(f"{method}: response without a result", platform=PLATFORM)
        return body["result"]
