"""Telegram: getUpdates long polling (the offset advances only after we stored the batch) or a
webhook with `secret_token`; replies with `reply_parameters` in the citizen's chat or thread."""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from connectors.base import Connector, WebhookResult
from connectors.errors import AuthFailed, Fatal
from connectors.telegram.client import TelegramClient, raise_for_envelope
from connectors.telegram.mapping import bot_id_of, map_message, map_update, message_url
from otklik.models import Batch, Delivery, EventKind, Message, Platform, Reply

ALLOWED_UPDATES = ["message", "edited_message", "channel_post", "edited_channel_post"]


class TelegramConnector(Connector):
    platform: ClassVar[Platform] = Platform.TELEGRAM
    # The Bot API has no idempotency key and cannot read a chat back: a send that died mid-way
    # is left to a person (workers/jobs.py parks it as `uncertain`).
    send_is_idempotent = False
    can_read_back = False

    def __init__(self, config, **kw) -> None:
        super().__init__(config, **kw)
        self._client: TelegramClient | None = None

    @property
    def client(self) -> TelegramClient:
        if self._client is None:
            self._client = TelegramClient(self.http, self.config.secret("token"), self.config.base_url)
        return self._client

    @property
    def bot_id(self) -> int | None:
        return bot_id_of(self.config.secret("token"))

    async def fetch(self, cursor: str | None) -> Batch:
        timeout = int(self.config.options.get("poll_timeout", 25))
        limit = int(self.config.options.get("limit", 100))
        updates = await self.client.call_long(
            "getUpdates", wait=timeout, offset=int(cursor) if cursor else None, limit=limit,
            allowed_updates=ALLOWED_UPDATES)
        messages: list[Message] = []
        for update in updates:
            messages += map_update(update, self.config.name, self.bot_id)
        # Asking next time with offset = last + 1 confirms this batch to Telegram; we ask only
        # after this batch and this cursor were committed together.
        next_cursor = str(max(u["update_id"] for u in updates) + 1) if updates else None
        return Batch(messages=messages, next_cursor=next_cursor, has_more=len(updates) >= limit)

    async def send(self, reply: Reply) -> Delivery:
        ids = reply.thread.ids
        chat_id = int(ids["chat_id"])
        # ~30/s overall: our window and Telegram's are measured at two ends of the wire, so we keep
        # a small margin rather than ever touch the limit.
        await self.limiter.wait(f"telegram:{self.bot_id}:all", int(self.config.options.get("rps", 28)), 1.0)
        await self.limiter.wait(f"telegram:{self.bot_id}:chat:{chat_id}", 1, 1.1)  # ~1/s per chat
        if chat_id < 0:
            await self.limiter.wait(f"telegram:{self.bot_id}:group:{chat_id}", 19, 60.0)  # 20/min per group
        params: dict[str, Any] = {"chat_id": chat_id, "text": reply.text}
        if ids.get("message_id"):
            params["reply_parameters"] = {"message_id": int(ids["message_id"]), "allow_sending_without_reply": True}
        if ids.get("message_thread_id"):
            params["message_thread_id"] = int(ids["message_thread_id"])
        sent = await self.client.call("sendMessage", **params)
        return Delivery(reply_id=reply.id, external_id=f"{chat_id}:{sent['message_id']}",
                        url=message_url(sent.get("chat", {"id": chat_id}), sent["message_id"]),
                        posted_at=datetime.now(UTC))

    async def check(self) -> list[str]:
        problems = []
        try:
            me = await self.client.call("getMe")
        except AuthFailed as exc:
            return [f"the bot token is rejected ({exc})"]
        if not me.get("is_bot"):
            problems.append("the token does not belong to a bot")
        info = await self.client.call("getWebhookInfo")
        webhook = bool(self.config.options.get("webhook"))
        if info.get("url") and not webhook:
            problems.append(f"a webhook is set ({info['url']}); polling would get 409 — deleteWebhook or "
                            "set options.webhook = true")
        if webhook and not self.config.secrets.get("webhook_secret"):
            problems.append("webhook mode needs the secret 'webhook_secret'")
        return problems

    async def handle_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookResult:
        expected = self.config.secret("webhook_secret")
        got = headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(got.encode(), expected.encode()):
            raise AuthFailed("webhook secret token mismatch", platform="telegram", code=403)
        try:
            update = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise Fatal("webhook body is not JSON", platform="telegram") from None
        return WebhookResult(messages=map_update(update, self.config.name, self.bot_id))

    @classmethod
    def parse(cls, payload: Any, source: str = "sample") -> list[Message]:
        """Updates, lists of updates, getUpdates/sendMessage responses, bare messages, error envelopes."""
        if isinstance(payload, list):
            return [m for item in payload for m in cls.parse(item, source)]
        if not isinstance(payload, dict):
            raise Fatal("a Telegram payload is a JSON object or array", platform="telegram")
        if "ok" in payload:
            raise_for_envelope(payload)
            return cls.parse(payload.get("result", []), source)
        if "update_id" in payload:
            return map_update(payload, source)
        if "message_id" in payload:
            m = map_message(payload, EventKind.NEW, source)
            return [m] if m else []
        if payload.get("ok") is False or "error_code" in payload:
            raise_for_envelope(payload)
        raise Fatal("not a Telegram update, message or response", platform="telegram")

