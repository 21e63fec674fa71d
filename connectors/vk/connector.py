"""VK: a community token receives wall comments, citizens' wall posts, board posts and private
messages as events — Bots Long Poll (default) or the Callback API (`options.mode = "callback"`).
An optional service or user token re-reads over REST what the stream lost (reconcile.py) and
backfills at the start. Replies go where the citizen wrote, deduplicated by VK itself
(`guid` for comments, `random_id` for messages), so a retry after a crash never posts twice.

The cursor is JSON: `{"ts": <long poll ts>, "at": <unix time of the last good poll>,
"reconcile": <ReconcileState or null>}`. The long poll server and key live only in memory (a
restart asks for them again): the key is a credential and does not belong in the database.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel

from connectors.base import Advice, Connector, WebhookRefused, WebhookResult, same_secret
from connectors.errors import AuthFailed, ConnectorError, Fatal, Malformed
from connectors.parsing import UNREADABLE, integer, map_each, total
from connectors.vk import mapping, reconcile
from connectors.vk import uploads as vk_uploads
from connectors.vk.client import VkClient, classify, guid, random_id
from connectors.vk.reconcile import ReconcileState
from otklik import safejson
from otklik.models import Batch, Delivery, Message, Platform, Rejected, Reply

log = logging.getLogger("otklik.connectors.vk")

GAP_MARGIN = 600  # seconds before the last good poll that a reconciliation re-reads
SEEN_EVENTS = 20_000  # Callback event ids remembered (VK retries within minutes)
LONG_POLL_EVENTS = (
    "message_new",
    "message_edit",
    "wall_post_new",
    "wall_reply_new",
    "wall_reply_edit",
    "wall_reply_delete",
    "wall_reply_restore",
    "board_post_new",
    "board_post_edit",
    "board_post_delete",
    "board_post_restore",
    *(f"{kind}_comment_{what}" for kind in mapping.MEDIA for what in ("new", "edit", "delete", "restore")),
)


class Cursor(BaseModel):
    ts: str | None = None
    at: int | None = None
    reconcile: ReconcileState | None = None

    @classmethod
    def load(cls, raw: str | None) -> Cursor:
        if not raw:
            return cls()
        try:
            return cls.model_validate_json(raw)
        except ValueError:
            if raw.isdigit():  # a bare ts (written by hand or an older version)
                return cls(ts=raw)
            raise Fatal(
                "the stored VK cursor is not understood; reset it to start from now", platform="vk"
            ) from None

    def dump(self) -> str:
        return self.model_dump_json(exclude_none=True)


class VkConnector(Connector):
    platform: ClassVar[Platform] = Platform.VK
    send_is_idempotent = True  # VK dedupes: random_id (messages.send), guid (createComment)
    can_read_back = True  # and our posts can be found again (VK keeps a guid/random_id ~1 hour)

    def __init__(self, config, **kw) -> None:
        super().__init__(config, **kw)
        opts = config.options
        self.mode = str(opts.get("mode", "longpoll"))
        self.wait = int(opts.get("wait", opts.get("poll_wait", 25)))
        self.backfill_days = float(opts.get("backfill_days", 0))
        self.post_days = float(opts.get("reconcile_post_days", 7))
        self.max_gap_days = float(opts.get("reconcile_max_days", 7))
        self._group_id: int | None = int(opts["group_id"]) if opts.get("group_id") else None
        self._clients: dict[str, VkClient] = {}
        self._server: dict[str, str] | None = None  # long poll server and key
        self._seen_events: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._confirmation: str | None = opts.get("confirmation_code")
        self.page = max(1, min(100, int(opts.get("page_size", 100))))
        self.clock = time.time  # replaceable: recordings and replays run on the emulator's clock

    # -- tokens ----------------------------------------------------------------------------------
    def _client(self, secret: str, kind: str, rps: Any = None) -> VkClient:
        if secret not in self._clients:
            self._clients[secret] = VkClient(
                self.http,
                self.config.secret(secret),
                kind=kind,
                base_url=self.config.base_url,
                limiter=self.limiter,
                rps=rps,
                attempts=int(self.config.options.get("read_attempts", 3)),
                backoff=float(self.config.options.get("read_backoff", 0.3)),
            )
        return self._clients[secret]

    @property
    def community(self) -> VkClient:
        return self._client("token", "community", self.config.options.get("rps"))

    @property
    def rest(self) -> VkClient | None:
        """The service or user token for wall/board reading, when one is configured."""
        for secret, kind in (("service_token", "service"), ("user_token", "user")):
            if self.config.secrets.get(secret) and self.config.secrets[secret].get_secret_value():
                return self._client(secret, kind, self.config.options.get("rest_rps"))
        return None

    @property
    def user(self) -> VkClient | None:
        if self.config.secrets.get("user_token") and self.config.secrets["user_token"].get_secret_value():
            return self._client("user_token", "user", self.config.options.get("rest_rps"))
        return None

    @total("vk")
    async def group_id(self) -> int:
        if self._group_id is None:  # a community token's groups.getById is its own community
            groups = await self.community.read("groups.getById")
            items = groups.get("groups", []) if isinstance(groups, dict) else groups
            self._group_id = int(items[0]["id"])
        return self._group_id

    # -- receiving -------------------------------------------------------------------------------
    async def _long_poll_server(self, gid: int) -> dict[str, str]:
        if self._server is None:
            got = await self.community.read("groups.getLongPollServer", group_id=gid)
            server, key, ts = got["server"], got["key"], got["ts"]
            if not (isinstance(server, str) and server.startswith(("https://", "http://"))
                    and isinstance(key, str) and _is_ts(ts)):
                raise Malformed("groups.getLongPollServer answered no usable server", platform="vk")
            self._server = {"server": server, "key": key, "ts": str(ts)}
        return self._server

    def _start_reconcile(self, since: float) -> ReconcileState:
        since = max(since, self.clock() - self.max_gap_days * 86400)
        return reconcile.start(
            int(since), int(since - self.post_days * 86400), has_rest=self.rest is not None, page=self.page
        )

    @total("vk")
    async def fetch(self, cursor: str | None) -> Batch:
        cur = Cursor.load(cursor)
        gid = await self.group_id()
        if cur.reconcile is not None:
            rejected: list[Rejected] = []
            found = await reconcile.step(
                cur.reconcile, rest=self.rest, community=self.community, group_id=gid,
                source=self.config.name, rejected=rejected,
            )
            if cur.reconcile.done:
                log.info(
                    "reconciliation finished",
                    extra={"source": self.config.name, "requests": cur.reconcile.requests},
                )
                cur.reconcile = None
            return Batch(messages=found, rejected=rejected, next_cursor=cur.dump(), has_more=True)
        now = int(self.clock())
        if self.mode == "callback":
            if cur.at is None:  # the first start: take the position, backfill if asked
                cur.at = now
                if self.backfill_days > 0:
                    cur.reconcile = self._start_reconcile(now - self.backfill_days * 86400)
                return Batch(next_cursor=cur.dump(), has_more=cur.reconcile is not None)
            return Batch()  # events arrive at handle_webhook
        server = await self._long_poll_server(gid)
        if cur.ts is None:  # the first start: from now on (plus an optional backfill)
            cur.ts, cur.at = server["ts"], now
            if self.backfill_days > 0:
                cur.reconcile = self._start_reconcile(now - self.backfill_days * 86400)
            return Batch(next_cursor=cur.dump(), has_more=True)
        body = await self.community.long_poll(server["server"], server["key"], cur.ts, self.wait)
        if not isinstance(body, dict):
            raise Malformed("the long poll answer is not a JSON object", platform="vk")
        failed = body.get("failed")
        if failed is not None:
            return await self._after_failure(integer(failed), body, cur, gid)
        updates = body.get("updates") or []
        if not isinstance(updates, list) or not _is_ts(body.get("ts", cur.ts)):
            raise Malformed("the long poll answer has no updates list or ts", platform="vk")
        rejected = []
        messages = map_each(updates, lambda u: mapping.map_event(u, self.config.name, gid), platform="vk",
                            rejected=rejected, id_of=lambda u: u.get("event_id"))
        # The new ts is committed together with these messages: asking with it is what moves on.
        cur.ts, cur.at = str(body.get("ts", cur.ts)), int(self.clock())
        return Batch(messages=messages, rejected=rejected, next_cursor=cur.dump(), has_more=bool(updates))

    async def _after_failure(self, failed: int, body: dict, cur: Cursor, gid: int) -> Batch:
        if failed == 2:  # the key expired: a new key, the same ts, nothing lost
            self._server = None
            await self._long_poll_server(gid)
            return Batch(has_more=True)
        if failed == 1:  # the ts is outside the kept history: events were lost
            cur.ts = str(body["ts"])
        elif failed == 3:  # information lost: a new key and ts
            self._server = None
            cur.ts = (await self._long_poll_server(gid))["ts"]
        else:
            raise Fatal(f"VK long poll failed={failed} (unsupported version?)", platform="vk", code=failed)
        since = (cur.at or self.clock()) - GAP_MARGIN
        cur.reconcile = self._start_reconcile(since)
        log.warning(
            "VK long poll lost events; reconciling over REST",
            extra={"source": self.config.name, "failed": failed, "rest": self.rest is not None},
        )
        return Batch(next_cursor=cur.dump(), has_more=True)

    async def handle_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookResult:
        """Callback API. VK sends `confirmation` once (answer: the code), then every event with
        `secret` and `event_id`, repeating (X-Retry-Counter) until it reads "ok".

        The secret travels in the body, so the body is read first — by the depth-limited parser, from
        a size-limited request — and the secret is checked before anything else is looked at. Only
        `confirmation` may come without it (VK sends none there), and only for our own community."""
        try:
            update = safejson.loads(body)
        except safejson.BadJson as exc:
            raise Malformed(f"VK callback body: {exc}", platform="vk") from None
        if not isinstance(update, dict):
            raise Malformed("VK callback body is not a JSON object", platform="vk")
        secret = update.get("secret")
        if secret is not None or update.get("type") != "confirmation":
            expected = self.config.secrets.get("callback_secret")
            if expected is None or not expected.get_secret_value():
                raise WebhookRefused(f"source {self.config.name}: secret 'callback_secret' is not configured",
                                     reason="not_configured", status=404, platform="vk")
            if not isinstance(secret, str):
                raise WebhookRefused("VK callback without a secret", reason="no_secret", status=401, platform="vk")
            if not same_secret(secret, expected.get_secret_value()):
                raise WebhookRefused("VK callback secret mismatch", reason="bad_secret", platform="vk")
        group = str(update.get("group_id")) if isinstance(update.get("group_id"), int | str) else ""
        if not (group.isascii() and group.isdecimal() and len(group) <= 19):
            raise Malformed("VK callback group_id is not a number", platform="vk")
        if not isinstance(update.get("type"), str):
            raise Malformed("VK callback body is not an event (no type)", platform="vk")
        gid = await self.group_id()
        if int(group) != gid:
            raise WebhookRefused("VK callback for another community", reason="wrong_group", platform="vk")
        if update["type"] == "confirmation":
            return WebhookResult(body=await self._confirmation_code(gid))
        messages = mapping.map_event(update, self.config.name, gid)
        event_id = str(update.get("event_id") or "")
        if event_id in self._seen_events:
            # A repeat: answer "ok" so VK stops. Its messages go to the store again on purpose — we
            # cannot know the first copy was stored (our "ok" may never have been sent because
            # storing failed), and the (source, external_id) key makes a second copy free.
            log.info(
                "VK callback repeat",
                extra={"source": self.config.name, "retry": headers.get("X-Retry-Counter")},
            )
        elif event_id:
            self._seen_events[event_id] = None
            while len(self._seen_events) > SEEN_EVENTS:
                self._seen_events.popitem(last=False)
        return WebhookResult(messages=messages)

    def is_repeat(self, event_id: str) -> bool:
        return event_id in self._seen_events

    async def _confirmation_code(self, gid: int) -> str:
        if self._confirmation is None:
            stored = self.config.secrets.get("confirmation_code")
            if stored is not None and stored.get_secret_value():
                self._confirmation = stored.get_secret_value()
            else:
                got = await self.community.read("groups.getCallbackConfirmationCode", group_id=gid)
                self._confirmation = str(got["code"])
        return self._confirmation

    # -- replying ----------------------------------------------------------------------------------
    @total("vk")
    async def send(self, reply: Reply) -> Delivery:
        gid = await self.group_id()
        ids = reply.thread.ids
        kind = reply.thread.kind
        now = datetime.now(UTC)
        if kind in ("wall", "wall_comment", "wall_post"):
            owner, post = int(ids["owner_id"]), int(ids["post_id"])
            files = await vk_uploads.attachments(reply, target="wall", group_id=gid, community=self.community,
                                                 user=self.user)
            got = await self.community.call(
                "wall.createComment",
                owner_id=owner,
                post_id=post,
                message=reply.text,
                reply_to_comment=ids.get("comment_id"),
                from_group=gid,
                guid=guid(reply.id),
                attachments=files,
            )
            cid = int(got["comment_id"])
            return Delivery(
                reply_id=reply.id,
                external_id=mapping.wall_comment_id(owner, post, cid),
                posted_at=now,
                url=f"https://vk.com/wall{owner}_{post}?reply={cid}",
            )
        if reply.attachments and kind != "message":  # wall kinds returned above
            raise Fatal(f"files go with VK wall comments and messages, not with a {kind} reply", platform="vk")
        if kind == "board":
            user = self.user
            if user is None:  # VK: board.createComment takes user tokens only
                raise AuthFailed(
                    "board replies need a user_token of a community admin (community tokens "
                    "cannot call board.createComment)",
                    platform="vk",
                    code=27,
                    alert=True,
                )
            group, topic = abs(int(ids.get("group_id", gid))), int(ids["topic_id"])
            text = await self._board_mention(ids) + reply.text
            cid = int(
                await user.call(
                    "board.createComment",
                    group_id=group,
                    topic_id=topic,
                    message=text,
                    from_group=1,
                    guid=guid(reply.id),
                )
            )
            return Delivery(
                reply_id=reply.id,
                external_id=mapping.board_comment_id(-group, topic, cid),
                posted_at=now,
                url=f"https://vk.com/topic-{group}_{topic}?post={cid}",
            )
        if kind in mapping.MEDIA:
            return await self._send_media_comment(mapping.MEDIA[kind], reply, now)
        if kind == "message":
            peer = int(ids["peer_id"])
            params: dict[str, Any] = {
                "peer_id": peer,
                "random_id": random_id(reply.id),
                "message": reply.text,
            }
            params["attachment"] = await vk_uploads.attachments(
                reply, target="messages", group_id=gid, community=self.community, user=self.user, peer_id=peer)
            if ids.get("conversation_message_id"):  # works in chats too, where message ids are 0
                params["forward"] = {
                    "peer_id": peer,
                    "conversation_message_ids": [int(ids["conversation_message_id"])],
                    "is_reply": True,
                }
            mid = int(await self.community.call("messages.send", **params))
            return Delivery(reply_id=reply.id, external_id=mapping.sent_message_id(peer, mid), posted_at=now)
        raise Fatal(f"cannot reply to a VK thread of kind {kind!r}", platform="vk")

    async def _send_media_comment(self, media: mapping.MediaKind, reply: Reply, now: datetime) -> Delivery:
        """A comment under the community's photo, video or market item, answered in its comments
        with photos/video/market.createComment. VK lists these methods for user tokens only (like
        board.createComment), so the admin's user_token posts, with `from_group=1` so the answer
        shows as the community's."""
        user = self.user
        if user is None:
            raise AuthFailed(
                f"replies under {media.kind} comments need a user_token of a community admin "
                f"({media.method} is not available to community tokens)",
                platform="vk",
                code=27,
                alert=True,
            )
        ids = reply.thread.ids
        owner, obj = int(ids["owner_id"]), int(ids[media.id_key])
        got = await user.call(
            media.method,
            owner_id=owner,
            message=reply.text,
            reply_to_comment=ids.get("comment_id"),
            from_group=1,
            guid=guid(reply.id),
            **{media.id_key: obj},
        )
        cid = int(got["comment_id"] if isinstance(got, dict) else got)  # VK returns the new id
        return Delivery(
            reply_id=reply.id,
            external_id=mapping.media_comment_id(media.kind, owner, obj, cid),
            posted_at=now,
            url=media.url.format(o=owner, i=obj),
        )

    async def _board_mention(self, ids: Mapping[str, Any]) -> str:
        """Boards have no reply threading; VK's own "reply" puts `[post<id>|<first name>], ` before
        the text, which shows as the name linked to the citizen's post. Without the name (the
        lookup failed) the answer goes to the topic as it is."""
        if not ids.get("comment_id") or not ids.get("from_id") or int(ids["from_id"]) <= 0:
            return ""
        try:
            users = await self.community.read("users.get", user_ids=int(ids["from_id"]))
        except ConnectorError:
            return ""
        try:
            name = (users[0].get("first_name") or "").replace("]", "").replace("|", "") if users else ""
        except UNREADABLE:  # an answer we cannot read is a lookup that failed
            name = ""
        return f"[post{int(ids['comment_id'])}|{name}], " if name else ""

    @total("vk")
    async def find_posted(self, reply: Reply) -> Delivery | None:
        """Before a resumed send: is our reply already there? (VK's own dedup forgets after ~1 hour.)"""
        gid = await self.group_id()
        ids, kind = reply.thread.ids, reply.thread.kind
        now = datetime.now(UTC)
        if kind == "message":
            peer = int(ids["peer_id"])
            got = await self.community.read("messages.getHistory", peer_id=peer, group_id=gid, count=50)
            rid = random_id(reply.id)
            for m in got.get("items", []):
                if int(m.get("out", 0)) == 1 and int(m.get("random_id", 0)) == rid:
                    return Delivery(
                        reply_id=reply.id,
                        external_id=mapping.sent_message_id(peer, int(m["id"])),
                        posted_at=now,
                        already_posted=True,
                    )
            return None
        if kind in mapping.MEDIA:
            return None  # no read-back of photo/video/market comments (yet): the guid guards the first hour
        rest = self.rest
        if rest is None:
            return None  # nothing to read wall/board with; the guid still guards the first hour
        if kind == "board":
            group, topic = abs(int(ids.get("group_id", gid))), int(ids["topic_id"])
            got = await rest.read("board.getComments", group_id=group, topic_id=topic, count=100, sort="desc")
            for c in got.get("items", []):
                if (
                    int(c.get("from_id", 0)) == -group
                    and mapping.BOARD_MENTION.sub("", c.get("text", "")) == reply.text
                ):
                    return Delivery(
                        reply_id=reply.id,
                        external_id=mapping.board_comment_id(-group, topic, int(c["id"])),
                        posted_at=now,
                        already_posted=True,
                    )
            return None
        owner, post = int(ids["owner_id"]), int(ids["post_id"])
        candidates: list[dict] = []
        got = await rest.read(
            "wall.getComments", owner_id=owner, post_id=post, count=100, sort="desc", thread_items_count=10
        )
        for c in got.get("items", []):
            candidates += [c, *((c.get("thread") or {}).get("items") or [])]
        if ids.get("comment_id"):
            try:
                thread = await rest.read(
                    "wall.getComments",
                    owner_id=owner,
                    post_id=post,
                    comment_id=int(ids["comment_id"]),
                    count=100,
                    sort="desc",
                )
                candidates += thread.get("items", [])
            except Fatal:
                pass  # the citizen's comment is itself in a thread (or gone): the top level was read
        for c in candidates:
            if int(c.get("from_id", 0)) == -gid and c.get("text") == reply.text:
                return Delivery(
                    reply_id=reply.id,
                    external_id=mapping.wall_comment_id(owner, post, int(c["id"])),
                    posted_at=now,
                    url=f"https://vk.com/wall{owner}_{post}?reply={c['id']}",
                    already_posted=True,
                )
        return None

    # -- health -----------------------------------------------------------------------------------
    @total("vk")
    async def check(self) -> list[str]:
        problems: list[str] = []
        try:
            got = await self.community.read("groups.getById")
        except ConnectorError as exc:
            return [f"community token: {exc}"]
        items = got.get("groups", []) if isinstance(got, dict) else got
        own = int(items[0]["id"]) if items else None
        if self._group_id is None:
            problems.append(f"options.group_id is not set (the token's community is {own})")
        elif own != self._group_id:
            problems.append(
                f"the community token belongs to community {own}, not options.group_id {self._group_id}"
            )
        gid = own or self._group_id or 0
        if self.mode == "callback":
            if not self.config.secrets.get("callback_secret"):
                problems.append("Callback API mode needs the secret 'callback_secret' (set the same in VK)")
        else:
            try:
                settings = await self.community.read("groups.getLongPollSettings", group_id=gid)
                problems += _long_poll_problems(settings)
            except ConnectorError as exc:
                problems.append(f"cannot read the Long Poll settings: {exc}")
        rest = self.rest
        if rest is None:
            problems.append(Advice(
                "no service_token or user_token: wall and board events lost in a long poll gap "
                "cannot be re-read, and no backfill is possible"
            ))
        else:
            try:
                await rest.read("wall.get", owner_id=-gid, count=1)
            except ConnectorError as exc:
                problems.append(f"REST token ({rest.kind}): {exc}")
        if self.user is None:
            problems.append(Advice(
                "no user_token: replies to board topics cannot be posted (VK allows them to users only)"
            ))
        return problems

    # -- normalize ---------------------------------------------------------------------------------
    @classmethod
    @total("vk")
    def parse(cls, payload: Any, source: str = "sample") -> list[Message]:
        """Long poll answers and updates, Callback bodies, method responses, bare objects; an error
        envelope raises its classified error."""
        if isinstance(payload, list):
            return [m for item in payload for m in cls.parse(item, source)]
        if not isinstance(payload, dict):
            raise Malformed("a VK payload is a JSON object or array", platform="vk")
        if isinstance(payload.get("error"), dict):
            raise classify(payload["error"])
        if "failed" in payload:
            return []  # a long poll notice (1: history lost, 2: key expired, 3: information lost)
        if isinstance(payload.get("updates"), list):
            return [
                m for u in payload["updates"] if isinstance(u, dict) for m in mapping.map_event(u, source)
            ]
        if "type" in payload and ("object" in payload or payload.get("type") == "confirmation"):
            return mapping.map_event(payload, source)
        if "response" in payload:
            return mapping.map_response(payload["response"], source)
        if isinstance(payload.get("items"), list):
            return mapping.map_response(payload, source)
        if not mapping.recognised(payload):
            raise Malformed("not a VK update, object or method response", platform="vk")
        m = mapping.map_item(payload, source)
        return [m] if m else []


def _is_ts(value: Any) -> bool:
    """A long poll ts: a number VK counts up (sent back as is, so it must be one)."""
    return (isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63) or (
        isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19
    )


def _long_poll_problems(settings: dict) -> list[str]:
    problems = []
    if not settings.get("is_enabled"):
        problems.append("Bots Long Poll API is disabled in the community settings")
    if str(settings.get("api_version")) != "5.199":
        problems.append(f"the Long Poll API version is {settings.get('api_version')}; set 5.199")
    events = settings.get("events") or {}
    off = [e for e in LONG_POLL_EVENTS if not events.get(e)]
    if off:
        problems.append("Long Poll event types not enabled: " + ", ".join(off))
    return problems
