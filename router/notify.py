"""Immediate reports to the head: an alert's text sent to a Telegram chat (Bot API `sendMessage`)
and/or POSTed as JSON to a webhook. The bot token lives in the Telegram URL, so no error message
or log line here ever includes a URL."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import httpx

from connectors.errors import Fatal, RateLimited, Transient
from router.spikes import Alert

TIMEOUT = httpx.Timeout(10.0)
TELEGRAM_LIMIT = 4096  # characters in one message


def format_alert(alert: Alert | dict[str, Any]) -> str:
    """Plain text for a chat: what happened, where, how much against the usual, which messages."""
    a = alert if isinstance(alert, Alert) else Alert.model_validate(alert)
    lines = [f"⚠️ {a.text}"]
    if a.topic_group and a.kind == "spike" and not a.key.startswith("topic:"):
        lines.append(f"Тема: {a.topic_group}")
    when = a.at if a.at.tzinfo else a.at.replace(tzinfo=UTC)
    lines.append(f"Время: {when.strftime('%d.%m.%Y %H:%M')} {when.tzname()}")
    if a.message_ids:
        lines.append("Сообщения: " + ", ".join(a.message_ids))
    return "\n".join(lines)[:TELEGRAM_LIMIT]


def telegram_url(token: str, base_url: str | None = None) -> str:
    return f"{(base_url or 'https://api.telegram.org').rstrip('/')}/bot{token}/sendMessage"


async def deliver(
    text: str,
    *,
    telegram_send_url: str | None = None,
    chat_id: str | int | None = None,
    webhook_url: str | None = None,
    payload: dict[str, Any] | None = None,
    client: httpx.AsyncClient | None = None,
) -> list[str]:
    """Send to every configured destination; returns the ones reached. Raises RateLimited,
    Transient (retry later) or Fatal (fix the configuration) on the first failure."""
    if not (telegram_send_url and chat_id is not None) and not webhook_url:
        raise Fatal("no alert destination configured (a Telegram chat or a webhook)", platform="notify")
    own = client is None
    client = client or httpx.AsyncClient(timeout=TIMEOUT)
    reached: list[str] = []
    try:
        if webhook_url:
            await _post(client, webhook_url, {"text": text, **(payload or {})}, "webhook")
            reached.append("webhook")
        if telegram_send_url and chat_id is not None:
            body = {"chat_id": chat_id, "text": text[:TELEGRAM_LIMIT], "disable_web_page_preview": True}
            await _post(client, telegram_send_url, body, "telegram")
            reached.append("telegram")
    finally:
        if own:
            await client.aclose()
    return reached


async def _post(client: httpx.AsyncClient, url: str, body: dict[str, Any], where: str) -> None:
    try:
        r = await client.post(url, json=body)
    except httpx.HTTPError as exc:  # the exception's text may hold the URL (the bot token): drop it
        raise Transient(f"alert to {where} failed: {type(exc).__name__}", platform="notify") from None
    data: Any = None
    try:
        data = r.json()
    except ValueError:
        pass
    if r.status_code == 429:
        retry = (data or {}).get("parameters", {}).get("retry_after", 5) if isinstance(data, dict) else 5
        raise RateLimited(f"alert to {where}: rate limited", retry_after=float(retry), platform="notify")
    if r.status_code >= 500:
        raise Transient(f"alert to {where} answered {r.status_code}", platform="notify")
    if r.status_code >= 300:
        description = data.get("description", "") if isinstance(data, dict) else ""
        raise Fatal(
            f"alert to {where} answered {r.status_code} {description}".strip(),
            platform="notify",
            code=r.status_code,
            alert=True,
        )
    if where == "telegram" and isinstance(data, dict) and data.get("ok") is False:
        raise Fatal(
            f"alert to telegram refused: {data.get('description', '')}", platform="notify", alert=True
        )


async def send_alert(
    settings, *, kind: str, text: str, data: dict[str, Any], client: httpx.AsyncClient | None = None
) -> list[str]:
    """What the daemon calls for a stored alert: the chat and bot from `settings.notify`
    (a configured Telegram source's token), and/or the webhook."""
    notify = settings.notify
    send_url = None
    if notify.telegram_chat_id and notify.telegram_source:
        src = settings.resolve_source(settings.source(notify.telegram_source))
        send_url = telegram_url(src.secret("token"), src.base_url)
    message = format_alert(data) if _is_alert(data) else text
    return await deliver(
        message,
        telegram_send_url=send_url,
        chat_id=notify.telegram_chat_id,
        webhook_url=notify.webhook_url,
        payload={"kind": kind, "data": data},
        client=client,
    )


def _is_alert(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and {"kind", "key", "at", "text"} <= data.keys()
        and data.get("kind") in ("spike", "significant")
    )
