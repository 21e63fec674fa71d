"""Sending an alert to the head: a Telegram chat (through a configured bot) and/or a webhook."""

from __future__ import annotations

from typing import Any

import httpx

from connectors.errors import Transient


async def send_alert(settings, *, kind: str, text: str, data: dict[str, Any],
                     client: httpx.AsyncClient | None = None) -> None:
    notify = settings.notify
    own = client is None
    client = client or httpx.AsyncClient(timeout=10)
    try:
        if notify.webhook_url:
            r = await client.post(notify.webhook_url, json={"kind": kind, "text": text, "data": data})
            if r.status_code >= 300:
                raise Transient(f"alert webhook answered {r.status_code}")
        if notify.telegram_chat_id and notify.telegram_source:
            src = settings.resolve_source(settings.source(notify.telegram_source))
            base = (src.base_url or "https://api.telegram.org").rstrip("/")
            r = await client.post(f"{base}/bot{src.secret('token')}/sendMessage",
                                  json={"chat_id": notify.telegram_chat_id, "text": f"⚠️ {text}"})
            if r.status_code >= 300:
                raise Transient(f"alert to Telegram answered {r.status_code}")
    finally:
        if own:
            await client.aclose()
