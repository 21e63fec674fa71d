"""Odnoklassniki: a group's topics and their comments over signed `/fb.do` calls, the group's chats
over the Bot API (polled, or pushed to our webhook), replies as the group.

OK has no idempotency key, so a reply is recognised by reading back: our group's comment in the same
discussion, answering the same comment, with the same text (after normalisation), posted within
`reply_window_hours` (find_posted). `send` itself reads back first when an earlier attempt of the same
reply in this process ended in doubt (a timeout after the request left), so the worker's retries never
post twice either.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from connectors.base import Connector, IPNetwork, WebhookResult
from connectors.errors import ConnectorError, Fatal, Malformed, Transient
from connectors.ok import chats, discussions, uploads
from connectors.ok.client import OkClient, raise_for_error
from connectors.ok.cursor import Cursor
from connectors.ok.mapping import (
    GROUP_TOPIC,
    from_ms,
    is_own_chat_message,
    is_own_comment,
    map_chat_message,
    map_comment,
    map_discussion,
    map_mediatopic,
    normalize_text,
    parse_date,
    topic_url,
    user_names,
)
from connectors.parsing import total
from otklik import safejson
from otklik.models import Batch, Delivery, Message, Platform, Rejected, Reply

log = logging.getLogger("otklik.connectors.ok")
# OK's published webhook senders (graph.user.subscribe): allowed, on top of options.webhook_allowed_ips,
# with options.webhook_check_ip (the daemon checks; forwarding headers only from trusted_proxies).
WEBHOOK_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("217.20.145.192/28", "217.20.151.160/28", "217.20.153.48/28")
)


class OkConnector(Connector):
    platform: ClassVar[Platform] = Platform.OK
    webhook_auth = "path"  # OK signs nothing: /webhooks/<source>/<secret webhook_path>
    send_is_idempotent = False
    can_read_back = True

    def __init__(self, config, **kw) -> None:
        super().__init__(config, **kw)
        self._client: OkClient | None = None
        self._uncertain: set[str] = set()  # reply ids whose last send ended in doubt

    # -- configuration -------------------------------------------------------------------------
    def opt(self, key: str, default: Any) -> Any:
        """An option of the default's type (TOML gives types; the environment gives strings)."""
        value = self.config.options.get(key, default)
        if isinstance(default, bool):
            return value is True or str(value).lower() in ("true", "1", "yes")
        return type(default)(value) if default is not None and value is not None else value

    @property
    def group_id(self) -> str:
        gid = str(self.config.options.get("group_id") or "")
        if not gid:
            raise Fatal(
                f"source {self.config.name}: option 'group_id' is not configured", platform="ok", alert=True
            )
        return gid

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.opt("date_tz", "Europe/Moscow"))

    @property
    def client(self) -> OkClient:
        if self._client is None:
            secrets = self.config.secrets
            bot = secrets.get("bot_token")
            self._client = OkClient(
                self.http,
                limiter=self.limiter,
                limit_key=f"ok:{self.config.options.get('group_id', self.config.name)}",
                application_key=str(self.config.options.get("application_key") or ""),
                access_token=self.config.secret("access_token"),
                application_secret_key=self.config.secret("application_secret_key"),
                bot_token=bot.get_secret_value() if bot else "",
                base_url=self.config.base_url,
                rps=self.opt("rps", 3),
                bot_rps=self.opt("bot_rps", 3),
                read_attempts=self.opt("read_attempts", 3),
                retry_wait=self.opt("retry_wait", 0.5),
                flood_retry_after=self.opt("flood_retry_after", 5.0),
            )
        return self._client

    @property
    def polls_chats(self) -> bool:
        return bool(self.config.secrets.get("bot_token")) and not self.opt("webhook", False)

    # -- reading -------------------------------------------------------------------------------
    @total("ok")
    async def fetch(self, cursor: str | None) -> Batch:
        now_ms = int(time.time() * 1000)
        state = Cursor.load(cursor)
        if state is None:  # first sync: read back only `backfill_hours` of history
            state = Cursor(h=now_ms - int(self.opt("backfill_hours", 24.0) * 3600 * 1000))
        opts = discussions.ScanOptions(
            group_id=self.group_id,
            source=self.config.name,
            topics_window=self.opt("topics_window", 20),
            page_size=min(100, self.opt("page_size", 100)),
            max_pages=self.opt("max_pages", 5),
            remember=self.opt("remember", 10),
            rescan_every=self.opt("rescan_every", 0),
            tz=self.tz,
        )
        rejected: list[Rejected] = []
        found = await discussions.scan(self.client, state, opts, rejected)
        messages, has_more = found.messages, found.has_more
        chat_states = state.c
        if self.polls_chats:
            got = await chats.scan(
                self.client,
                state,
                source=self.config.name,
                start_ms=state.h,
                max_pages=self.opt("max_pages", 5) * 2,
                only=self.config.options.get("chats"),
                rejected=rejected,
            )
            messages += got.messages
            chat_states = got.chats
            has_more |= got.has_more
        new = Cursor(h=state.h, since=found.since, polls=state.polls + 1, d=found.discussions, c=chat_states)
        unique: dict[tuple[str, str], Message] = {}
        for m in messages:  # one id once per batch (the last event about it wins)
            unique[(m.external_id, m.event)] = m
        return Batch(messages=list(unique.values()), rejected=rejected, next_cursor=new.dump(),
                     has_more=has_more)

    # -- replying ------------------------------------------------------------------------------
    @total("ok")
    async def send(self, reply: Reply) -> Delivery:
        if reply.id in self._uncertain:
            found = await self.find_posted(reply)
            if found is not None:
                self._uncertain.discard(reply.id)
                return found.model_copy(update={"already_posted": True})
        try:
            delivery = await (
                self._send_chat(reply) if reply.thread.kind == "chat" else self._send_comment(reply)
            )
        except Transient:
            self._uncertain.add(reply.id)  # it may have been posted: look before the next attempt
            raise
        self._uncertain.discard(reply.id)
        return delivery

    async def _send_comment(self, reply: Reply) -> Delivery:
        ids = reply.thread.ids
        did = str(ids.get("discussion_id") or "")
        if not did:
            raise Fatal("an OK reply needs thread.ids.discussion_id", platform="ok")
        # The photos first (uploads.py): the comment never goes out without the files it was
        # approved with, and a failed upload posts nothing.
        files = await uploads.comment_attachments(
            reply, self.client, group_id=self.group_id, album_id=self.config.options.get("album_id")
        )
        # Parameter names of the current official docs (entityId/entityType; the emulator also
        # takes the older discussionId/discussionType).
        new_id = await self.client.call(
            "discussions.addDiscussionComment",
            idempotent=False,
            entityId=did,
            entityType=str(ids.get("discussion_type") or GROUP_TOPIC),
            comment=reply.text,
            as_admin=True,
            reply_to_comment_id=str(ids["comment_id"]) if ids.get("comment_id") else None,
            attachments=files,
        )
        if isinstance(new_id, dict):
            new_id = new_id.get("id") or new_id.get("comment_id")
        if not new_id:
            raise Transient("addDiscussionComment answered without a comment id", platform="ok")
        return Delivery(
            reply_id=reply.id,
            external_id=str(new_id),
            url=topic_url(self.group_id, did),
            posted_at=datetime.now(UTC),
        )

    async def _send_chat(self, reply: Reply) -> Delivery:
        chat_id = str(reply.thread.ids.get("chat_id") or "")
        if not chat_id:
            raise Fatal("an OK chat reply needs thread.ids.chat_id", platform="ok")
        message: dict[str, Any] = {"text": reply.text}
        files = await uploads.chat_attachments(reply, self.client)
        if files:
            message["attachments"] = files
        body = await self.client.graph(
            "POST", f"messages/{chat_id}", body={"recipient": {"chat_id": chat_id}, "message": message}
        )
        mid = body.get("message_id") or body.get("mid")
        if not mid:
            raise Transient("the Bot API answered without a message id", platform="ok")
        return Delivery(reply_id=reply.id, external_id=str(mid), posted_at=datetime.now(UTC))

    @total("ok")
    async def find_posted(self, reply: Reply) -> Delivery | None:
        """Our reply, if it is already there: the group's, same text, same comment answered, recent."""
        horizon = datetime.now(UTC) - timedelta(hours=self.opt("reply_window_hours", 72.0))
        want = normalize_text(reply.text)
        ids = reply.thread.ids
        if reply.thread.kind == "chat":
            chat_id = str(ids.get("chat_id") or "")
            body = await self.client.graph(
                "GET", f"messages/{chat_id}", count=100, to=int(horizon.timestamp() * 1000)
            )
            for item in body.get("messages") or []:
                if (
                    is_own_chat_message(item)
                    and normalize_text((item.get("message") or {}).get("text", "")) == want
                ):
                    return Delivery(
                        reply_id=reply.id,
                        external_id=str(item["message"]["mid"]),
                        posted_at=from_ms(item["timestamp"]),
                        already_posted=True,
                    )
            return None
        did = str(ids.get("discussion_id") or "")
        answered = str(ids["comment_id"]) if ids.get("comment_id") else None
        anchor = "LAST"
        for _ in range(self.opt("find_pages", 3)):
            body = await discussions.comments_page(self.client, did, anchor, "BACKWARD", 100)
            comments = body.get("comments") or []
            for c in reversed(comments):
                created = parse_date(c["date"], self.tz) if c.get("date") else None
                if (
                    is_own_comment(c, self.group_id)
                    and (created is None or created >= horizon)
                    and (c.get("reply_to_comment_id") or None) == answered
                    and normalize_text(str(c.get("text") or "")) == want
                ):
                    return Delivery(
                        reply_id=reply.id,
                        external_id=str(c["id"]),
                        url=topic_url(self.group_id, did),
                        posted_at=created or datetime.now(UTC),
                        already_posted=True,
                    )
            oldest = min((parse_date(c["date"], self.tz) for c in comments if c.get("date")), default=None)
            if (
                not body.get("has_more")
                or not body.get("anchor")
                or (oldest is not None and oldest < horizon)
            ):
                return None
            anchor = body["anchor"]
        return None

    # -- operations ----------------------------------------------------------------------------
    @total("ok")
    async def check(self) -> list[str]:
        problems = [
            f"option {key!r} is not configured"
            for key in ("application_key", "group_id")
            if not self.config.options.get(key)
        ]
        problems += [
            f"secret {key!r} is not configured"
            for key in ("access_token", "application_secret_key")
            if not self.config.secrets.get(key)
        ]
        if problems:
            return problems
        try:
            info = await self.client.call("group.getInfo", uids=self.group_id, fields="uid,name")
            if not any(str(g.get("uid")) == self.group_id for g in info or []):
                problems.append(f"group {self.group_id} is not visible to the access_token")
        except ConnectorError as exc:
            problems.append(f"REST API: {exc.kind} (code {exc.code}): {exc}")
        if self.config.secrets.get("bot_token"):
            problems += await self._check_bot()
        return problems

    async def _check_bot(self) -> list[str]:
        try:
            me = await self.client.graph("GET", "info")
        except ConnectorError as exc:
            return [f"Bot API: {exc.kind} (code {exc.code}): {exc}"]
        problems = []
        if str(me.get("group_id", "")).removeprefix("group:") != self.group_id:
            problems.append(f"the bot_token belongs to {me.get('group_id')}, not group:{self.group_id}")
        if self.opt("webhook", False):
            url = self.config.options.get("webhook_url")
            subs = await self.client.graph("GET", "subscriptions")
            if not self.config.secrets.get("webhook_path"):
                problems.append("webhook mode needs the secret 'webhook_path' (the token in /webhooks/<source>/<token>)")
            if not url:
                problems.append("webhook mode needs options.webhook_url (this daemon's /webhooks/<source>/<token>)")
            elif url not in {s.get("url") for s in subs.get("subscriptions") or []}:
                problems.append(
                    f"{url} is not subscribed: POST /graph/me/subscribe (OkConnector.subscribe_webhook)"
                )
        return problems

    async def subscribe_webhook(self, url: str) -> None:
        await self.client.graph("POST", "subscribe", body={"url": url})

    def webhook_networks(self) -> list[IPNetwork]:
        """`webhook_allowed_ips`, plus OK's published sender networks with `webhook_check_ip`."""
        extra = list(WEBHOOK_NETWORKS) if self.opt("webhook_check_ip", False) else []
        return super().webhook_networks() + extra

    async def handle_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookResult:
        """OK signs nothing: a delivery is authenticated by the daemon before it gets here — the
        unguessable path token (`webhook_auth = "path"`, secret `webhook_path`) and, optionally, the
        sender's address (`webhook_networks`, from a trusted proxy's forwarding headers only).

        A body that is not a JSON object is a 400 (OK sends only objects); a well-formed object we
        cannot use (chat renames, members) is acknowledged and dropped — OK repeats a delivery that
        did not get 200 for 8 hours and then unsubscribes us."""
        try:
            payload = safejson.loads(body)
        except safejson.BadJson as exc:
            raise Malformed(f"OK webhook body: {exc}", platform="ok") from None
        if not isinstance(payload, dict):
            raise Malformed("OK webhook body is not a JSON object", platform="ok")
        try:
            return WebhookResult(messages=self.parse(payload, self.config.name))
        except ConnectorError as exc:
            log.warning("OK webhook body ignored", extra={"source": self.config.name, "error": exc.kind})
            return WebhookResult()

    # -- normalize -----------------------------------------------------------------------------
    @classmethod
    @total("ok")
    def parse(cls, payload: Any, source: str = "sample") -> list[Message]:
        """Method answers (getComments, discussions.get, getTopics, Bot API history), single comments,
        webhook bodies, error envelopes (raised). Our own outgoing requests and the answers that carry
        no citizen message (subscriptions, send results, chat lists, new comment ids) give nothing."""
        if isinstance(payload, list):
            return [m for item in payload for m in cls.parse(item, source)]
        if isinstance(payload, str):
            return []  # addDiscussionComment's answer: the new comment's id
        if not isinstance(payload, dict):
            raise Malformed("an OK payload is a JSON object, array or string", platform="ok")
        if "error_code" in payload:
            raise_for_error(payload)
            raise Fatal("an OK error envelope", platform="ok", code=payload.get("error_code"))
        if "comments" in payload:
            names = user_names(payload.get("entities"))
            return [m for c in payload["comments"] if (m := map_comment(c, source=source, names=names))]
        if "discussion" in payload:
            m = map_discussion(payload, source=source)
            return [m] if m else []
        if "media_topics" in payload:
            names = user_names(payload.get("entities"))
            return [
                m for t in payload["media_topics"] if (m := map_mediatopic(t, source=source, names=names))
            ]
        if "messages" in payload:
            return [m for item in payload["messages"] if (m := map_chat_message(item, source=source))]
        if "sender" in payload and "message" in payload:
            m = map_chat_message(payload, source=source)
            return [m] if m else []
        if "author_id" in payload and "id" in payload and ("date" in payload or "text" in payload):
            m = map_comment(payload, source=source)
            return [m] if m else []
        if ("recipient" in payload and "message" in payload) or {
            "subscriptions",
            "chats",
            "success",
        } & payload.keys():
            return []  # a send request, webhook subscriptions, chat lists, send results
        if _is_bot_info(payload) or _is_chat_info(payload):
            return []  # GET /me/info (`sources check`: whose bot this is), GET /me/chat (one chat)
        if uploads.is_upload_answer(payload):
            return []  # photosV2.getUploadUrl, fileUploadUrl, an upload server's answer (uploads.py)
        raise Malformed("not an OK payload this connector knows", platform="ok")


def _ok_id(value: Any, prefix: str) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool) and str(value).startswith(prefix)


def _is_bot_info(payload: dict) -> bool:
    """GET /graph/me/info: the bot's account — its `name` and the `user_id` ("user:…") or, for a
    group's token, `group_id` ("group:…")."""
    return isinstance(payload.get("name"), str) and (
        _ok_id(payload.get("user_id"), "user:") or _ok_id(payload.get("group_id"), "group:")
    )


def _is_chat_info(payload: dict) -> bool:
    """GET /graph/me/chat: one chat — `chat_id` ("chat:…") with its `type`/`status`, title, owner,
    participants; no message in it."""
    return _ok_id(payload.get("chat_id"), "chat:") and ("type" in payload or "status" in payload)
