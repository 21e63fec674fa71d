"""«Кузбасс Онлайн»: poll the municipality's appeal feed with the platform's opaque cursor, take
new appeals into work as they arrive (004 §2.3: within 24 hours), post one answer per appeal with
its result (решено | разъяснено) and attachments under an Idempotency-Key (our reply id), and read
it back by that reference."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from connectors.base import Connector
from connectors.errors import AuthFailed, Fatal, Malformed
from connectors.kuzbass_online.client import KuzbassOnlineClient, raise_for_error
from connectors.kuzbass_online.mapping import (
    PLATFORM,
    WEB,
    answer_body,
    appeal_id,
    is_new,
    message_of,
    parse_time,
    status_changes,
    take_body,
)
from connectors.parsing import by_readable_id, integer, map_each, messages_and_changes, total
from otklik.models import Batch, Delivery, Message, Rejected, Reply

log = logging.getLogger("otklik.connectors.kuzbass_online")
API = "/web/v1"
NEEDED = ("appeals.read", "appeals.take", "answers.write")


class KuzbassOnlineConnector(Connector):
    platform: ClassVar = PLATFORM
    send_is_idempotent = True  # Idempotency-Key
    can_read_back = True  # the answer carries its client_reference

    def __init__(self, config, **kw) -> None:
        super().__init__(config, **kw)
        self._client: KuzbassOnlineClient | None = None

    @property
    def client(self) -> KuzbassOnlineClient:
        if self._client is None:
            self._client = KuzbassOnlineClient.for_source(
                self,
                "token",
                rps=4,
                no_address="«Кузбасс Онлайн» has no public API: set base_url (the municipality's sub-domain)",
            )
        return self._client

    @property
    def web(self) -> str:
        return str(self.config.options.get("web_url", WEB)).rstrip("/")

    @total(PLATFORM)
    async def fetch(self, cursor: str | None) -> Batch:
        limit = int(self.config.options.get("limit", 50))
        page = await self.client.get(f"{API}/appeals", cursor=cursor or None, limit=limit)
        if not isinstance(page, dict) or not isinstance(page.get("items") or [], list):
            raise Malformed("the appeal feed is not a page", platform=PLATFORM)
        next_cursor = page.get("next_cursor")
        if next_cursor is not None and not (isinstance(next_cursor, str) and len(next_cursor) <= 1000):
            raise Malformed("the appeal feed's next_cursor is not a cursor", platform=PLATFORM)
        rejected: list[Rejected] = []
        items = by_readable_id(page.get("items") or [], rejected, "an appeal")
        messages, changes = messages_and_changes(
            map_each(
                items.values(),
                lambda item: [message_of(item, self.config.name, self.web), *status_changes(item)],
                platform=PLATFORM,
                rejected=rejected,
                id_of=lambda item: item.get("id"),
            )
        )
        if self.config.options.get("take_into_work", True):
            # 004 §2.3: taken into work within 24 h. Done here, as soon as an appeal is seen: a
            # failure raises before the cursor moves, so the next poll takes it again (idempotent).
            # An appeal the platform refuses to take (Fatal: a category outside its catalog, an
            # answer already there) stays «новое» and is left to people: the case's take_by
            # deadline escalates it. It must not hold up the others.
            for m in messages:
                if is_new(m.raw):
                    try:
                        await self.take_into_work(m.external_id, item=m.raw)
                    except Fatal as exc:
                        log.warning("appeal not taken into work", extra={
                            "source": self.config.name, "external_id": m.external_id, "code": str(exc.code)})
        return Batch(
            messages=messages,
            status_changes=changes,
            rejected=rejected,
            next_cursor=next_cursor if next_cursor and next_cursor != cursor else None,
            has_more=bool(page.get("has_more")),
        )

    async def take_into_work(
        self,
        external_id: str,
        *,
        category: str | None = None,
        subcategory: str | None = None,
        executor: str | None = None,
        item: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Status «принято в работу» with the category, subcategory and executor (004 §2.3). A
        curator's later choice (another category, the department's executor) is the same call
        again; the platform answers 200 when nothing changes."""
        body = take_body(
            item,
            category=category,
            subcategory=subcategory,
            executor=executor or self.config.options.get("executor"),
            default_subcategory=str(self.config.options.get("default_subcategory", "Прочее")),
        )
        appeal = integer(external_id, lo=1)
        taken, _ = await self.client.post(f"{API}/appeals/{appeal}/take", body)
        return taken

    def _delivery(self, reply: Reply, appeal: int, answer: dict[str, Any], already: bool) -> Delivery:
        return Delivery(
            reply_id=reply.id,
            external_id=f"{appeal}:{answer['id']}",
            url=f"{self.web}/appeals/{appeal}",
            posted_at=parse_time(answer["published_at"]),
            already_posted=already,
        )

    @total(PLATFORM)
    async def send(self, reply: Reply) -> Delivery:
        appeal = appeal_id(reply)
        body = answer_body(reply)
        answer, status = await self.client.post(
            f"{API}/appeals/{appeal}/answer", body, idempotency_key=reply.id
        )
        return self._delivery(reply, appeal, answer, already=status == 200)

    @total(PLATFORM)
    async def find_posted(self, reply: Reply) -> Delivery | None:
        appeal = appeal_id(reply)
        item = await self.client.get(f"{API}/appeals/{appeal}")
        answer = item.get("answer")
        if isinstance(answer, dict) and answer.get("client_reference") == reply.id:
            return self._delivery(reply, appeal, answer, already=True)
        return None

    @total(PLATFORM)
    async def check(self) -> list[str]:
        try:
            profile = await self.client.get(f"{API}/profile")
        except AuthFailed as exc:
            return [f"the «Кузбасс Онлайн» token is rejected ({exc})"]
        missing = [f"the token lacks the permission {p!r}" for p in NEEDED
                   if p not in profile.get("permissions", [])]
        if self.config.options.get("take_into_work", True) and not self.config.options.get("executor"):
            missing.append("option 'executor' is not set: appeals cannot be taken into work (004 §2.3)")
        return missing

    @classmethod
    @total(PLATFORM)
    def parse(cls, payload: Any, source: str = "sample") -> list[Message]:
        """Feed pages, bare appeals and lists; error bodies raise."""
        if isinstance(payload, list):
            return [m for item in payload for m in cls.parse(item, source)]
        if not isinstance(payload, dict):
            raise Malformed("a «Кузбасс Онлайн» payload is a JSON object or array", platform=PLATFORM)
        if "error" in payload:
            raise_for_error(payload, 400)
        if "items" in payload:
            return cls.parse(payload.get("items") or [], source)
        if "history" in payload and "id" in payload:
            return [message_of(payload, source)]
        if "client_reference" in payload or "permissions" in payload:
            return []  # an answer or the profile: no citizen messages
        raise Malformed("not a «Кузбасс Онлайн» appeal, page or response", platform=PLATFORM)
