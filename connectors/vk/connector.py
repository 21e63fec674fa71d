"""VK: Bots Long Poll with `ts` committed after the batch (failed 1/2/3 handled), or the Callback
API; optional REST reconciliation with a service or user token; replies that VK dedupes
(`random_id`, `guid`), so a retry after a crash never posts twice."""

from __future__ import annotations

import collections
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from connectors.base import Connector, WebhookResult
from connectors.errors import AuthFailed, ConnectorError, Fatal
from connectors.vk import mapping
from connectors.vk.client import VkClient, raise_for_error, random_id
from otklik.models import Batch, Delivery, Message, Platform, Reply

RECONCILE_POSTS = 20  # after a gap in the event stream, re-read this many recent posts' comments


class VkConnector(Connector):
    platform: ClassVar[Platform] = Platform.VK
    send_is_idempotent = True  # random_id for messages, guid for comments

    def __init__(self, config, **kw) -> None:
        super().__init__(config, **kw)
        self._client: VkClient | None = None
        self._rest: VkClient | None = None
        self._seen_events: collections.OrderedDict[str, None] = collections.OrderedDict()

    @property
    def group_id(self) -> int:
        return int(self.config.options["group_id"])

    @property
    def client(self) -> VkClient:
        if self._client is None:
            self._client = VkClient(self.http, self.config.secret("token"), token_type="community",
                                    base_url=self.config.base_url, limiter=self.limiter,
                                    rps=self.config.options.get("rps"))
        return self._client

    @property
    def rest(self) -> VkClient | None:
        """A service or user token for wall.get / getComments backfill, when configured."""
        if self._rest is None:
            for key, kind in (("service_token", "service"), ("user_token", "user")):
                if self.config.secrets.get(key):
                    self._rest = VkClient(self.http, self.config.secret(key), token_type=kind,
                                          base_url=self.config.base_url, limiter=self.limiter)
                    break
        return self._rest

    # -- receiving -------------------------------------------------------------------------------
    async def _server(self) -> dict:
        return await self.client.read("groups.getLongPollServer", group_id=self.group_id)

    async def fetch(self, cursor: str | None) -> Batch:
        state = json.loads(cursor) if cursor else await self._server()
        wait = int(self.config.options.get("poll_wait", 25))
        body = await self.client.long_poll(state["server"], state["key"], str(state["ts"]), wait)
        failed = body.get("failed")
        if failed == 1:  # history lost: take the new ts and re-read what we may have missed
            state["ts"] = body["ts"]
            return Batch(messages=await self.reconcile(), next_cursor=json.dumps(state), has_more=True)
        if failed == 2:  # the key expired: a new key, the same ts
            fresh = await self._server()
            state.update(server=fresh["server"], key=fresh["key"])
            return Batch(next_cursor=json.dumps(state), has_more=True)
        if failed == 3:  # information lost: new key and ts, and re-read
            fresh = await self._server()
            return Batch(messages=await self.reconcile(), next_cursor=json.dumps(fresh), has_more=True)
        if "error" in body:
            raise_for_error(body)
        messages: list[Message] = []
        for update in body.get("updates", []):
            messages += mapping.event(update, self.config.name, self.group_id)
        state["ts"] = body.get("ts", state["ts"])
        # The new ts is committed with these messages; asking with it confirms them.
        return Batch(messages=messages, next_cursor=json.dumps(state))

    async def reconcile(self) -> list[Message]:
        """REST backfill after a gap: citizens' posts and the comments of recent posts."""
        rest = self.rest
        if rest is None:
            return []  # without a service/user token a gap cannot be filled; /healthz shows polling is fine
        owner = -self.group_id
        out: list[Message] = []
        posts = await rest.read("wall.get", owner_id=owner, count=RECONCILE_POSTS, filter="all")
        for post in (posts or {}).get("items", []):
            if (m := mapping.wall_post(post, self.config.name, self.group_id)) is not None:
                out.append(m)
            if (post.get("comments") or {}).get("count"):
                comments = await rest.read("wall.getComments", owner_id=owner, post_id=post["id"], count=100,
                                           thread_items_count=10)
                out += mapping.response(comments, self.config.name, self.group_id)
        return out

    async def handle_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookResult:
        """Callback API: the confirmation code, the secret, and event_id deduplication."""
        try:
            update = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise Fatal("callback body is not JSON", platform="vk") from None
        if update.get("type") == "confirmation":
            return WebhookResult(body=self.config.secret("confirmation"))
        secret = self.config.secrets.get("callback_secret")
        if secret and not hmac.compare_digest(str(update.get("secret", "")).encode(),
                                              secret.get_secret_value().encode()):
            raise AuthFailed("callback secret mismatch", platform="vk", code=403)
        event_id = str(update.get("event_id", ""))
        if event_id and event_id in self._seen_events:
            return WebhookResult()  # a retry of an event we already took: "ok", nothing new
        if event_id:
            self._seen_events[event_id] = None
            while len(self._seen_events) > 10_000:
                self._seen_events.popitem(last=False)
        return WebhookResult(messages=mapping.event(update, self.config.name, self.group_id))

    # -- replying ----------------------------------------------------------------------------------
    async def send(self, reply: Reply) -> Delivery:
        ids = reply.thread.ids
        kind = reply.thread.kind
        if kind in ("wall_comment", "wall_post"):
            resp = await self.client.call(
                "wall.createComment", owner_id=ids["owner_id"], post_id=ids["post_id"], message=reply.text,
                reply_to_comment=ids.get("comment_id"), from_group=self.group_id, guid=reply.id)
            cid = resp["comment_id"]
            return Delivery(reply_id=reply.id, external_id=f"comment:{ids['owner_id']}_{cid}", posted_at=datetime.now(UTC),
                            url=f"https://vk.com/wall{ids['owner_id']}_{ids['post_id']}?reply={cid}")
        if kind == "board":
            cid = await self.client.call("board.createComment", group_id=ids["group_id"], topic_id=ids["topic_id"],
                                         message=reply.text, from_group=1, guid=reply.id)
            return Delivery(reply_id=reply.id, external_id=f"board:{ids['topic_id']}_{cid}", posted_at=datetime.now(UTC),
                            url=f"https://vk.com/topic-{ids['group_id']}_{ids['topic_id']}?post={cid}")
        if kind == "message":
            mid = await self.client.call("messages.send", peer_id=ids["peer_id"], random_id=random_id(reply.id),
                                         message=reply.text)
            return Delivery(reply_id=reply.id, external_id=f"msgid:{mid}", posted_at=datetime.now(UTC))
        raise Fatal(f"cannot reply to a VK thread of kind {kind!r}", platform="vk")

    async def check(self) -> list[str]:
        problems = []
        try:
            await self._server()
        except ConnectorError as exc:
            problems.append(f"community token: {exc}")
        if self.rest is None:
            problems.append("no service_token or user_token: gaps in the event stream cannot be reconciled")
        else:
            try:
                await self.rest.read("wall.get", owner_id=-self.group_id, count=1)
            except ConnectorError as exc:
                problems.append(f"REST token: {exc}")
        return problems

    @classmethod
    def parse(cls, payload: Any, source: str = "sample") -> list[Message]:
        if isinstance(payload, dict) and "error" in payload:
            raise_for_error(payload)
        if isinstance(payload, dict) and "failed" in payload:
            return []  # a long poll 'failed' answer carries no messages
        if isinstance(payload, dict) and "updates" in payload:
            return [m for u in payload["updates"] for m in mapping.event(u, source)]
        if isinstance(payload, dict) and "response" in payload:
            return mapping.response(payload["response"], source)
        if isinstance(payload, dict) and "type" in payload:
            return mapping.event(payload, source)
        if isinstance(payload, dict | list):
            return mapping.response(payload, source)
        raise Fatal("not a VK payload", platform="vk")


__all__ = ["VkConnector", "httpx"]
