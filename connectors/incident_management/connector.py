"""Incident Management: poll the change feed with the stored `seq`; submit answers for the regional
centre's approval (Idempotency-Key = our reply id); after the approved answer was posted in the
social network, `mirror` marks the incident answered with the link."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from connectors.base import Connector
from connectors.errors import AuthFailed, Malformed
from connectors.incident_management.client import ImClient, raise_for_error
from connectors.incident_management.mapping import (
    PLATFORM,
    answer_body,
    incident_id,
    incident_message,
    map_incident,
    parse_time,
)
from connectors.parsing import integer, map_each, total
from otklik.models import Batch, Delivery, Message, Rejected, Reply, StatusChange

API = "/api/v1"
NEEDED_SCOPES = ("incidents:read", "answers:write", "publications:write")


class IncidentManagementConnector(Connector):
    platform: ClassVar = PLATFORM
    send_is_idempotent = True  # the mock deduplicates answers by Idempotency-Key
    can_read_back = True  # and the incident lists our answers with their client_reference

    def __init__(self, config, **kw) -> None:
        super().__init__(config, **kw)
        self._client: ImClient | None = None

    @property
    def client(self) -> ImClient:
        if self._client is None:
            self._client = ImClient.for_source(
                self, "token", rps=8, no_address="Incident Management has no public address: set base_url"
            )
        return self._client

    def _web_url(self, incident: int | str) -> str:
        base = self.config.options.get("web_url", self.config.base_url or "")
        return f"{base.rstrip('/')}/incidents/{incident}"

    @total(PLATFORM)
    async def fetch(self, cursor: str | None) -> Batch:
        since = int(cursor) if cursor else 0
        limit = int(self.config.options.get("limit", 100))
        page = await self.client.get(f"{API}/incidents", since=since, limit=limit)
        if not isinstance(page, dict) or not isinstance(page.get("items", []), list):
            raise Malformed("the incident feed is not a page", platform=PLATFORM)
        next_since = integer(page.get("next_since", since), lo=0)
        messages: dict[tuple[str, str, str], Message] = {}
        changes: dict[tuple[str, str, datetime], StatusChange] = {}
        rejected: list[Rejected] = []
        mapped = map_each(
            page.get("items", []),
            lambda incident: [*sum(map_incident(incident, self.config.name, since), [])],
            platform=PLATFORM,
            rejected=rejected,
            id_of=lambda incident: incident.get("id"),
        )
        for x in mapped:  # a re-delivered item maps to the same keys: keep one
            if isinstance(x, Message):
                messages[(x.external_id, x.event.value, str(x.edited_at))] = x
            else:
                changes[(x.external_id, x.status, x.at)] = x
        return Batch(
            messages=list(messages.values()),
            status_changes=list(changes.values()),
            rejected=rejected,
            next_cursor=str(next_since) if next_since != since else None,
            has_more=bool(page.get("has_more")),
        )

    def _delivery(self, reply: Reply, incident: int, answer: dict[str, Any], already: bool) -> Delivery:
        return Delivery(
            reply_id=reply.id,
            external_id=f"{incident}:{answer['id']}",
            url=self._web_url(incident),
            posted_at=parse_time(answer["submitted_at"]),
            already_posted=already,
        )

    @total(PLATFORM)
    async def send(self, reply: Reply) -> Delivery:
        incident = incident_id(reply)
        answer, status = await self.client.post(
            f"{API}/incidents/{incident}/answers", answer_body(reply), idempotency_key=reply.id
        )
        return self._delivery(reply, incident, answer, already=status == 200)

    @total(PLATFORM)
    async def find_posted(self, reply: Reply) -> Delivery | None:
        incident = incident_id(reply)
        data = await self.client.get(f"{API}/incidents/{incident}")
        for answer in data.get("answers", []):
            if answer.get("client_reference") == reply.id:
                return self._delivery(reply, incident, answer, already=True)
        return None

    @total(PLATFORM)
    async def mirror(self, external_id: str, reply: Reply, delivery: Delivery) -> None:
        """The approved answer is now in the social network: mark the incident answered with the
        link (which also starts the citizen's two days to comment or rate). Safe to repeat."""
        url = delivery.url
        if not url:  # e.g. a private chat has no public link: point at the citizen's post instead
            url = (await self.client.get(f"{API}/incidents/{int(external_id)}"))["source"]["post_url"]
        body = {
            "url": url,
            "client_reference": reply.id,
            "network": reply.platform.value,
            "post_external_id": delivery.external_id,
            "published_at": delivery.posted_at.astimezone(UTC).isoformat(),
        }
        await self.client.post(f"{API}/incidents/{int(external_id)}/publication", body)

    @total(PLATFORM)
    async def check(self) -> list[str]:
        try:
            me = await self.client.get(f"{API}/me")
        except AuthFailed as exc:
            return [f"the Incident Management token is rejected ({exc})"]
        missing = [s for s in NEEDED_SCOPES if s not in me.get("scopes", [])]
        return [f"the token lacks the scope {s!r}" for s in missing]

    @classmethod
    @total(PLATFORM)
    def parse(cls, payload: Any, source: str = "sample") -> list[Message]:
        """Incidents, lists of them, the feed page, a publication response; error envelopes raise."""
        if isinstance(payload, list):
            return [m for item in payload for m in cls.parse(item, source)]
        if not isinstance(payload, dict):
            raise Malformed("an Incident Management payload is a JSON object or array", platform=PLATFORM)
        if "error" in payload:
            raise_for_error(payload, 400)
        if "items" in payload:
            return cls.parse(payload["items"], source)
        if "incident" in payload:
            return cls.parse(payload["incident"], source)
        if "history" in payload and "source" in payload:
            # A snapshot: the incident as it stands now (deleted at the source: a deletion).
            event = "source_deleted" if payload["source"].get("deleted") else "created"
            ms, _ = map_incident(
                {**payload, "history": [{"seq": 1, "type": event, "at": payload["updated_at"]}]}, source
            )
            return ms or [incident_message(payload, source)]
        if "client_reference" in payload or "organization" in payload:
            return []  # an answer we submitted, or /me: no citizen messages
        raise Malformed("not an Incident Management incident, page or response", platform=PLATFORM)
