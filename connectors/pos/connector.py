"""ПОС: the inbox is a queue. `fetch` first acknowledges (`mark-accepted`) what the previous batch
listed — those appeals and the cursor naming them were committed together — then lists what is
waiting. A crash before the commit leaves the appeals unacknowledged, so they are listed again.

Answers go to `POST /appeal-service/edms/{id}`; ПОС has no idempotency key, so our reply id rides
in `outgoingNumber` and a retry reads the appeal back first (`find_posted`). An answer's files are
uploaded to the file storage first (`POST /file-storage-service/filestorage`) and named by their ids
in `attachmentIds` (README: what public client code shows)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar

from connectors import media
from connectors.base import Connector
from connectors.errors import AuthFailed, Fatal, Malformed
from connectors.parsing import integer, map_each, messages_and_changes, reading, reject, total
from connectors.pos.client import PosClient, raise_for_error
from connectors.pos.mapping import (
    PLATFORM,
    WEB,
    answer_body,
    appeal_id,
    appeal_message,
    find_answer,
    parse_time,
    status_changes,
)
from connectors.transport import client_options
from otklik.models import Batch, Delivery, Message, Rejected, Reply

EDMS = "/appeal-service/edms"


def _acks(cursor: str | None) -> list[tuple[int, int | None]]:
    if not cursor:
        return []
    try:
        return [(int(i), None if v is None else int(v)) for i, v in json.loads(cursor).get("ack", [])]
    except (ValueError, TypeError, AttributeError):
        raise Fatal(f"unreadable ПОС cursor {cursor[:80]!r}", platform=PLATFORM) from None


def _ack_of(appeal: Any) -> tuple[int | None, int | None]:
    """(id, version) to acknowledge an appeal with; (None, None) when it has no usable id."""
    if not isinstance(appeal, dict):
        return None, None
    try:
        ident = integer(appeal.get("id"), lo=0)
    except (TypeError, ValueError):
        return None, None
    try:
        version = None if appeal.get("version") is None else integer(appeal["version"])
    except (TypeError, ValueError):
        version = None
    return ident, version


class PosConnector(Connector):
    platform: ClassVar = PLATFORM
    send_is_idempotent = False
    can_read_back = True

    def __init__(self, config, **kw) -> None:
        super().__init__(config, **kw)
        self._client: PosClient | None = None

    @property
    def client(self) -> PosClient:
        if self._client is None:
            c = self.config
            self._client = PosClient(
                self.http,
                username=c.secret("username"),
                password=c.secret("password"),
                client_id=c.secret("client_id"),
                client_secret=c.secret("client_secret"),
                base_url=c.base_url,
                limiter=self.limiter,
                **client_options(c.options, rps=8),
            )
        return self._client

    @total(PLATFORM)
    async def fetch(self, cursor: str | None) -> Batch:
        acks = _acks(cursor)
        for appeal, version in acks:
            params = {"version": version} if version is not None else {}
            await self.client.acknowledge(f"{EDMS}/{appeal}/mark-accepted", **params)
        size = int(self.config.options.get("page_size", 50))
        page = await self.client.get(EDMS, page=0, size=size)
        if not isinstance(page, dict) or not isinstance(page.get("content"), list):
            raise Malformed("the ПОС inbox is not a page", platform=PLATFORM)
        appeals: dict[int, dict[str, Any]] = {}
        rejected: list[Rejected] = []
        listed: dict[int, Any] = {}
        for appeal in page["content"]:
            # Acknowledged even when unreadable (set aside below), so the inbox moves past it.
            ident, version = _ack_of(appeal)
            if ident is None:
                rejected.append(reject(appeal, "an appeal without a readable id"))
                continue
            appeals[ident] = appeal  # a re-delivered appeal counts once
            listed[ident] = version
        messages, changes = messages_and_changes(
            map_each(
                appeals.values(),
                lambda a: [appeal_message(a, self.config.name), *status_changes(a)],
                platform=PLATFORM,
                rejected=rejected,
                id_of=lambda a: a.get("id"),
            )
        )
        listed = [[i, v] for i, v in listed.items()]
        # None keeps the stored cursor: only when there was nothing to acknowledge and nothing new.
        next_cursor = json.dumps({"ack": listed}) if listed or acks else None
        return Batch(
            messages=messages,
            status_changes=changes,
            rejected=rejected,
            next_cursor=next_cursor,
            has_more=not page.get("last", True),
        )

    def _executor_info(self) -> dict[str, Any] | None:
        info = self.config.options.get("executor_info")
        return dict(info) if isinstance(info, dict) else None

    def _delivery(self, reply: Reply, appeal: int, answer: dict[str, Any], already: bool) -> Delivery:
        posted = answer.get("createdAt")
        return Delivery(
            reply_id=reply.id,
            external_id=f"{appeal}:{answer['id']}",
            url=f"{WEB}/{appeal}",
            posted_at=parse_time(posted) if posted else datetime.now(UTC),
            already_posted=already,
        )

    async def _upload(self, reply: Reply) -> list[str]:
        """The answer's files into ПОС's file storage, in order; their ids for `attachmentIds`.
        Every file is loaded first, so a missing one fails the delivery before anything is stored."""
        blobs = [
            await media.load(a, self.http, platform=PLATFORM, index=i) for i, a in enumerate(reply.attachments, 1)
        ]
        ids = []
        for blob in blobs:
            stored = await self.client.upload(blob.name, blob.data, blob.mime)
            with reading(PLATFORM, "file storage answer"):
                ident = str(stored["id"])
            if not ident:
                raise Malformed("ПОС's file storage answered without a file id", platform=PLATFORM)
            ids.append(ident)
        return ids

    @total(PLATFORM)
    async def send(self, reply: Reply) -> Delivery:
        appeal = appeal_id(reply)
        info = self._executor_info()
        answer_body(reply, info)  # refuses what ПОС cannot take before anything is uploaded
        ids = await self._upload(reply) if reply.attachments else None
        data = await self.client.post(f"{EDMS}/{appeal}", answer_body(reply, info, ids))
        answer = find_answer(data if isinstance(data, dict) else {}, reply.id)
        if answer is None:
            raise Fatal(f"ПОС accepted the answer to {appeal} but does not list it", platform=PLATFORM)
        return self._delivery(reply, appeal, answer, already=False)

    @total(PLATFORM)
    async def find_posted(self, reply: Reply) -> Delivery | None:
        appeal = appeal_id(reply)
        answer = find_answer(await self.client.get(f"{EDMS}/{appeal}"), reply.id)
        return self._delivery(reply, appeal, answer, already=True) if answer else None

    @total(PLATFORM)
    async def check(self) -> list[str]:
        try:
            await self.client.authenticate()
            await self.client.get(EDMS, page=0, size=1)
        except AuthFailed as exc:
            return [f"ПОС refuses the credentials ({exc})"]
        return []

    @classmethod
    @total(PLATFORM)
    def parse(cls, payload: Any, source: str = "sample") -> list[Message]:
        """Inbox pages, appeals, lists of appeals, token responses; OAuth and Spring errors raise."""
        if isinstance(payload, list):
            return [m for item in payload for m in cls.parse(item, source)]
        if not isinstance(payload, dict):
            raise Malformed("a ПОС payload is a JSON object or array", platform=PLATFORM)
        if "content" in payload and isinstance(payload["content"], list):
            return cls.parse(payload["content"], source)
        if "description" in payload and "id" in payload:
            return [appeal_message(payload, source)]
        if "access_token" in payload:
            return []
        if {"id", "size", "contentType"} <= payload.keys():
            return []  # the file storage's answer to an upload (a file of ours, no appeal)
        if "error" in payload:
            status = payload.get("status")
            raise_for_error(payload, int(status) if isinstance(status, int) else 401)
        raise Malformed("not a ПОС appeal, page or response", platform=PLATFORM)
