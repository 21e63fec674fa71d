"""«Камчатка в порядке»: poll the executor's feed with the platform's opaque cursor; answers and
extension requests carry an Idempotency-Key (our reply id), and answers are read back by it."""

from __future__ import annotations

from typing import Any, ClassVar

from connectors.base import Connector
from connectors.errors import AuthFailed, Malformed
from connectors.kamchatka.client import KamchatkaClient, raise_for_error
from connectors.kamchatka.mapping import (
    PLATFORM,
    WEB,
    answer_body,
    extension_body,
    message_id,
    message_of,
    parse_time,
    status_changes,
)
from connectors.parsing import by_readable_id, map_each, messages_and_changes, total
from otklik.models import Batch, Delivery, Message, Rejected, Reply

API = "/api/executor/v1"
NEEDED = ("messages.read", "answers.write", "extensions.request")


class KamchatkaConnector(Connector):
    platform: ClassVar = PLATFORM
    send_is_idempotent = True  # Idempotency-Key
    can_read_back = True  # answers list their client_reference

    def __init__(self, config, **kw) -> None:
        super().__init__(config, **kw)
        self._client: KamchatkaClient | None = None

    @property
    def client(self) -> KamchatkaClient:
        if self._client is None:
            self._client = KamchatkaClient.for_source(
                self, "api_key", rps=4, no_address="«Камчатка в порядке» has no public address: set base_url"
            )
        return self._client

    @property
    def web(self) -> str:
        return str(self.config.options.get("web_url", WEB)).rstrip("/")

    @total(PLATFORM)
    async def fetch(self, cursor: str | None) -> Batch:
        limit = int(self.config.options.get("limit", 50))
        envelope = await self.client.get(f"{API}/messages", cursor=cursor or None, limit=limit)
        if not isinstance(envelope, dict) or not isinstance(envelope.get("data") or [], list):
            raise Malformed("the message feed is not a page", platform=PLATFORM)
        meta = envelope.get("meta") or {}
        next_cursor = meta.get("next_cursor")
        if next_cursor is not None and not (isinstance(next_cursor, str) and len(next_cursor) <= 1000):
            raise Malformed("the message feed's next_cursor is not a cursor", platform=PLATFORM)
        rejected: list[Rejected] = []
        items = by_readable_id(envelope.get("data") or [], rejected, "a message")
        messages, changes = messages_and_changes(
            map_each(
                items.values(),
                lambda item: [message_of(item, self.config.name, self.web), *status_changes(item)],
                platform=PLATFORM,
                rejected=rejected,
                id_of=lambda item: item.get("id"),
            )
        )
        return Batch(
            messages=messages,
            status_changes=changes,
            rejected=rejected,
            next_cursor=next_cursor if next_cursor and next_cursor != cursor else None,
            has_more=bool(meta.get("has_more")),
        )

    def _delivery(self, reply: Reply, msg: int, answer: dict[str, Any], already: bool) -> Delivery:
        return Delivery(
            reply_id=reply.id,
            external_id=f"{msg}:{answer['id']}",
            url=f"{self.web}/messages/{msg}",
            posted_at=parse_time(answer["published_at"]),
            already_posted=already,
        )

    @total(PLATFORM)
    async def send(self, reply: Reply) -> Delivery:
        msg = message_id(reply)
        body = answer_body(reply, self.config.options.get("no_photo_reason"))
        answer, status = await self.client.post(
            f"{API}/messages/{msg}/answers", body, idempotency_key=reply.id
        )
        return self._delivery(reply, msg, answer, already=status == 200)

    @total(PLATFORM)
    async def find_posted(self, reply: Reply) -> Delivery | None:
        msg = message_id(reply)
        item = (await self.client.get(f"{API}/messages/{msg}"))["data"]
        for answer in item.get("answers") or []:
            if answer.get("client_reference") == reply.id:
                return self._delivery(reply, msg, answer, already=True)
        return None

    async def request_extension(
        self, external_id: str, days: int, comment: str, key: str | None = None
    ) -> dict[str, Any]:
        """Ask the coordinator for up to 8 more days, with a comment (000 app. 2 §2.5). The answer
        arrives later as a status change: extension_granted or extension_denied."""
        body = extension_body(days, comment)
        extension, _ = await self.client.post(
            f"{API}/messages/{int(external_id)}/extension",
            body,
            idempotency_key=key or f"extension:{external_id}",
        )
        return extension

    @total(PLATFORM)
    async def check(self) -> list[str]:
        try:
            profile = (await self.client.get(f"{API}/profile"))["data"]
        except AuthFailed as exc:
            return [f"the «Камчатка в порядке» API key is rejected ({exc})"]
        return [
            f"the key lacks the permission {p!r}" for p in NEEDED if p not in profile.get("permissions", [])
        ]

    @classmethod
    @total(PLATFORM)
    def parse(cls, payload: Any, source: str = "sample") -> list[Message]:
        """Feed pages, single-message envelopes, bare messages and lists; error envelopes raise."""
        if isinstance(payload, list):
            return [m for item in payload for m in cls.parse(item, source)]
        if not isinstance(payload, dict):
            raise Malformed("a «Камчатка в порядке» payload is a JSON object or array", platform=PLATFORM)
        if payload.get("success") is False or "error" in payload:
            raise_for_error(payload, 400)
        if "success" in payload:
            return cls.parse(payload.get("data") or [], source)
        if "events" in payload and "id" in payload:
            return [message_of(payload, source)]
        if "client_reference" in payload or "executor" in payload or "state" in payload:
            return []  # an answer, the profile, an extension: no citizen messages
        raise Malformed("not a «Камчатка в порядке» message, page or response", platform=PLATFORM)
