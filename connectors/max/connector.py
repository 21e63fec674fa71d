"""MAX (max.ru): GET /updates long polling (the marker is stored with the batch and sent on the next
call, which confirms it) or webhook deliveries checked by `X-Max-Bot-Api-Secret`; replies with
`link {type: reply, mid}` in the dialog, the chat or the channel post's comment thread.

Options (SourceConfig.options): `ca_bundle` (path of a PEM bundle holding the Минцифры root that
signs platform-api2.max.ru; default: the system store), `poll_timeout` (s, 0–90, default 25),
`limit` (updates per poll, 1–1000, default 100), `webhook` (true: updates arrive at
/webhooks/<source>, fetch does nothing), `webhook_url` (what `check` expects to be subscribed),
`chat_ids` (group chats and channels `check` verifies the bot administers with read_all_messages),
`rps` (requests per second overall, default 28 < MAX's 30), `read_attempts` (3), `retry_backoff`
(s, 0.5), `request_timeout` (s, 20), `backfill_channels` (channel chat ids whose latest posts'
comments are read through the REST API once per start, to catch comments missed while offline),
`backfill_posts` (posts per channel, 1–100, default 10). Secrets: `token`, `webhook_secret` (webhook mode).
"""

from __future__ import annotations

import contextlib
import hashlib
import ssl
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlparse

import httpx

from connectors import media
from connectors.base import Connector, WebhookRefused, WebhookResult, same_secret
from connectors.errors import AuthFailed, ConnectorError, Fatal, Malformed
from connectors.max.client import MaxClient, raise_for_error
from connectors.max.mapping import PLATFORM, UPDATE_TYPES, map_message, map_update, update_id
from connectors.parsing import integer, map_each, reading, total
from connectors.ratelimit import ChatTurns
from otklik import safejson
from otklik.models import Attachment, Batch, Delivery, EventKind, Message, Platform, Rejected, Reply

SECRET_HEADER = "X-Max-Bot-Api-Secret"
# MAX: at most 2 messages per second into one dialog, chat or channel, 30 requests per second
# overall. Our windows and MAX's are measured at two ends of the wire, and two requests taken in
# order may arrive in the other order or closer together, so we keep a wide margin per chat (an
# administration rarely answers one chat faster than once a second anyway).
PER_CHAT = 2
PER_CHAT_WINDOW = 1.5
UPLOAD_TYPES = {"photo": "image", "image": "image", "video": "video", "audio": "audio", "voice": "audio"}


class MaxConnector(Connector):
    platform: ClassVar[Platform] = Platform.MAX
    # No idempotency key, and history reads are not used for read-back: a send that died mid-way
    # is parked as `uncertain` for a person (workers/jobs.py).
    send_is_idempotent = False
    can_read_back = False

    def __init__(self, config, *, client: httpx.AsyncClient | None = None, **kw) -> None:
        if client is None:
            # platform-api2.max.ru is signed by the Минцифры root, absent from most trust stores.
            bundle = config.options.get("ca_bundle")
            verify: Any = ssl.create_default_context(cafile=str(Path(bundle).expanduser())) if bundle else True
            client = httpx.AsyncClient(timeout=httpx.Timeout(35.0, connect=5.0), verify=verify)
            super().__init__(config, client=client, **kw)
            self._own_client = True
        else:
            super().__init__(config, client=client, **kw)
        self._client: MaxClient | None = None
        self._me: int | None = None
        self._chat_turns = ChatTurns(PER_CHAT_WINDOW / PER_CHAT)  # half a window apart
        self._backfilled = False

    @property
    def bot_key(self) -> str:
        """Names this bot in the shared limiter's keys without putting its token there."""
        return hashlib.sha256(self.config.secret("token").encode()).hexdigest()[:12]

    @property
    def client(self) -> MaxClient:
        if self._client is None:
            opts = self.config.options
            self._client = MaxClient(
                self.http,
                self.config.secret("token"),
                self.config.base_url,
                before=self._overall_turn,
                read_attempts=int(opts.get("read_attempts", 3)),
                backoff=float(opts.get("retry_backoff", 0.5)),
                request_timeout=float(opts.get("request_timeout", 20.0)),
            )
        return self._client

    async def _overall_turn(self) -> None:
        """Every request of this bot, reads included, shares MAX's 30/s: kept as an even spacing
        so that jittered latency cannot put a whole window's worth into one of MAX's seconds."""
        await self.limiter.wait(f"max:{self.bot_key}:all", 1, 1.0 / float(self.config.options.get("rps", 28)))

    async def bot_user_id(self) -> int:
        """Our bot's user id (GET /me, once): its messages in chats are never ingested."""
        if self._me is None:
            me = await self.client.read("/me")
            with reading(PLATFORM, "GET /me answer"):
                self._me = integer(me["user_id"])
        return self._me

    def _map(self, update: Any) -> list[Message]:
        return map_update(update, self.config.name, self._me)

    # -- receiving -----------------------------------------------------------------------------
    @total(PLATFORM)
    async def fetch(self, cursor: str | None) -> Batch:
        backfilled: list[Message] = []
        rejected: list[Rejected] = []
        if not self._backfilled and self.config.options.get("backfill_channels"):
            await self.bot_user_id()
            backfilled = await self.backfill_comments(rejected)
            self._backfilled = True  # once per start: after the first batch is stored, updates take over
        if self.config.options.get("webhook"):
            # with a subscription MAX does not serve long polling
            return Batch(messages=backfilled, rejected=rejected)
        await self.bot_user_id()
        opts = self.config.options
        timeout = max(0, min(90, int(opts.get("poll_timeout", 25))))
        limit = max(1, min(1000, int(opts.get("limit", 100))))
        marker = int(cursor) if cursor else None
        # Sending the stored marker confirms what came before it; the poller sends it only after
        # the previous batch and that marker were committed together.
        body = await self.client.read("/updates", http_timeout=timeout + self.client.request_timeout,
                                      limit=limit, timeout=timeout, marker=marker, types=",".join(UPDATE_TYPES))
        if not isinstance(body, dict) or not isinstance(body.get("updates"), list):
            raise Malformed("GET /updates answered without an `updates` list", platform=PLATFORM)
        updates = body["updates"]
        got = body.get("marker")
        next_marker = integer(got, lo=0) if got is not None else marker
        if marker is not None and next_marker is not None:
            next_marker = max(next_marker, marker)  # an old marker again must never move us back
        messages = map_each(updates, self._map, platform=PLATFORM, rejected=rejected, id_of=update_id)
        return Batch(messages=backfilled + messages, rejected=rejected,
                     next_cursor=str(next_marker) if next_marker is not None else None,
                     has_more=len(updates) >= limit)

    async def backfill_comments(self, rejected: list[Rejected]) -> list[Message]:
        """Comments on the latest posts of options.backfill_channels, read through the REST API
        (GET /messages?chat_id= for the posts, GET /messages/{post}/comments for their comments): the
        ones written while we were offline for longer than MAX keeps updates, or whose updates MAX
        never delivered (reported live for a private channel). Mapped exactly as a comment_created
        update, so a comment already stored is recognised by its mid and not stored twice."""
        posts_per_channel = max(1, min(100, int(self.config.options.get("backfill_posts", 10))))
        out: list[Message] = []
        for chat_id in self.config.options.get("backfill_channels", []):
            page = await self.client.read("/messages", chat_id=int(chat_id), count=posts_per_channel)
            if not isinstance(page, dict) or not isinstance(page.get("messages"), list):
                raise Malformed("GET /messages answered without a `messages` list", platform=PLATFORM)
            for post in page["messages"]:
                mid = post.get("body", {}).get("mid") if isinstance(post, dict) else None
                if not isinstance(mid, str) or not mid:
                    continue
                # One page of the latest 100 per post (the documented maximum): a backfill, not an archive.
                got = await self.client.read(f"/messages/{mid}/comments", count=100)
                if not isinstance(got, dict) or not isinstance(got.get("comments"), list):
                    raise Malformed("GET /messages/{mid}/comments answered without a `comments` list",
                                    platform=PLATFORM)
                out += map_each(got["comments"], self._map_comment, platform=PLATFORM, rejected=rejected,
                                id_of=lambda c: update_id({"message": c}))
        return out

    def _map_comment(self, comment: Any) -> list[Message]:
        return map_update({"update_type": "comment_created", "message": comment}, self.config.name, self._me)

    def authenticate_webhook(self, headers: Mapping[str, str], path_token: str | None) -> None:
        """The secret is a header, so a forged delivery is refused before its body is read."""
        super().authenticate_webhook(headers, path_token)
        secret = self.config.secrets.get("webhook_secret")
        if secret is None or not secret.get_secret_value():
            raise WebhookRefused(f"source {self.config.name}: secret 'webhook_secret' is not configured",
                                 reason="not_configured", status=404, platform=PLATFORM)
        got = next((v for k, v in headers.items() if k.lower() == SECRET_HEADER.lower()), None)
        if got is None:
            raise WebhookRefused("no secret header", reason="no_secret", status=401, platform=PLATFORM)
        if not same_secret(got, secret.get_secret_value()):
            raise WebhookRefused("webhook secret mismatch", reason="bad_secret", platform=PLATFORM)

    async def handle_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookResult:
        """One Update POSTed by MAX (it wants 200 within 30 s, and stores nothing for us: the
        daemon stores first, then answers)."""
        self.authenticate_webhook(headers, None)
        try:
            update = safejson.loads(body)
        except safejson.BadJson as exc:
            raise Malformed(f"webhook body: {exc}", platform=PLATFORM) from None
        if not isinstance(update, dict):
            raise Malformed("webhook body is not a JSON object (an Update)", platform=PLATFORM)
        if self._me is None:
            with contextlib.suppress(ConnectorError):
                await self.bot_user_id()
        return WebhookResult(messages=self._map(update))

    async def subscribe(self, url: str | None = None) -> None:
        """POST /subscriptions with our secret (`url` defaults to options.webhook_url)."""
        url = url or self.config.options.get("webhook_url")
        if not url:
            raise Fatal("no webhook URL: pass one or set options.webhook_url", platform=PLATFORM)
        await self.client.request("POST", "/subscriptions", json_body={
            "url": url, "update_types": UPDATE_TYPES, "secret": self.config.secret("webhook_secret")})

    # -- sending -------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _chat_turn(self, chat: str) -> AsyncIterator[None]:
        """One send to a chat at a time, half a window apart (ratelimit.ChatTurns), then the
        shared per-chat limit of every worker of this bot."""
        async with self._chat_turns.turn(chat):
            await self.limiter.wait(f"max:{self.bot_key}:chat:{chat}", PER_CHAT, PER_CHAT_WINDOW)
            yield

    async def send(self, reply: Reply) -> Delivery:
        """The answer in the citizen's thread, as a reply to their message. Not idempotent (MAX has
        no key): errors are raised classified, and the worker owns retries."""
        ids = reply.thread.ids
        mid = ids.get("mid")
        link = {"type": "reply", "mid": str(mid)} if mid else None
        if reply.thread.kind == "comment":
            if reply.attachments:
                raise Fatal("MAX comments take no attachments", platform=PLATFORM)
            post_id, chat = ids.get("post_id"), f"{ids.get('chat_id')}"
            if not post_id:
                raise Fatal("the reply's thread has no post_id", platform=PLATFORM)
            path, params = f"/messages/{post_id}/comments", {}
            body: dict[str, Any] = {"text": reply.text, **({"link": link} if link else {})}
        else:
            chat_id, user_id = ids.get("chat_id"), ids.get("user_id")
            if chat_id not in (None, 0, "0"):
                params, chat = {"chat_id": int(chat_id)}, f"{chat_id}"
            elif user_id is not None:
                params, chat = {"user_id": int(user_id)}, f"user:{user_id}"  # a dialog's chat_id may be 0
            else:
                raise Fatal("the reply's thread has neither chat_id nor user_id", platform=PLATFORM)
            path = "/messages"
            body = {"text": reply.text, **({"link": link} if link else {})}
            if reply.attachments:
                body["attachments"] = [await self.upload(a) for a in reply.attachments]
        async def pace() -> None:
            # Right before the request: the overall slot, then the chat's own window again. The
            # first chat wait (in _chat_turn) spaces the sends; a slot taken there can be used late
            # (behind the overall limit) and land next to the following one, which this catches.
            await self._overall_turn()
            await self.limiter.wait(f"max:{self.bot_key}:chat-sent:{chat}", PER_CHAT, PER_CHAT_WINDOW)

        async with self._chat_turn(chat):
            if body.get("attachments"):
                sent = await self.client.send_retrying_not_ready(path, params=params, body=body, pace=pace)
            else:
                sent = await self.client.request("POST", path, params=params, json_body=body, pace=pace)
        with reading(PLATFORM, "POST /messages answer"):
            msg = sent["message"] if isinstance(sent, dict) and "message" in sent else sent
            return Delivery(reply_id=reply.id, external_id=str(msg["body"]["mid"]),
                            url=msg.get("url") if isinstance(msg.get("url"), str) else None,
                            posted_at=datetime.now(UTC))

    async def upload(self, attachment: Attachment) -> dict:
        """An attachment of our reply as POST /messages takes it. An image on the web goes by its URL
        (MAX fetches it); a local file goes through /uploads: ask for an upload URL, send the bytes
        there, and pass on the token it gives."""
        kind = UPLOAD_TYPES.get(attachment.type, "file")
        url = attachment.url or ""
        parsed = urlparse(url)
        if media.is_stored(attachment):  # a file of our answer: from the attachment store
            blob = await media.load(attachment, None, platform=PLATFORM)
            data, name = blob.data, blob.name
        elif parsed.scheme in ("http", "https"):
            if kind != "image":
                raise Fatal("MAX takes only images by URL: give other attachments as local files",
                            platform=PLATFORM)
            return {"type": "image", "payload": {"url": url}}
        else:
            path = Path(parsed.path if parsed.scheme == "file" else url)
            if not url or not path.is_file():
                raise Fatal("an attachment without a readable file or URL", platform=PLATFORM)
            data, name = path.read_bytes(), path.name
        slot = await self.client.request("POST", "/uploads", params={"type": kind})
        with reading(PLATFORM, "POST /uploads answer"):
            upload_url, token = slot["url"], slot.get("token")
        answer = await self.client.upload_bytes(upload_url, data, name)
        with reading(PLATFORM, "upload answer"):
            if token is None and isinstance(answer, dict):
                if isinstance(answer.get("photos"), dict):  # images: {"photos": {"<key>": {"token"}}}
                    token = next(iter(answer["photos"].values()))["token"]
                else:
                    token = answer.get("token")
            if not isinstance(token, str):
                raise Malformed("the upload gave no token", platform=PLATFORM)
        return {"type": kind, "payload": {"token": token}}

    # -- health --------------------------------------------------------------------------------
    @total(PLATFORM)
    async def check(self) -> list[str]:
        """GET /me (the token is a bot's), GET /subscriptions (polling vs webhook) and, for
        options.chat_ids, the bot's membership (admin with read_all_messages)."""
        try:
            me = await self.client.read("/me")
        except AuthFailed as exc:
            return [f"the bot token is rejected ({exc})"]
        problems = [] if me.get("is_bot") else ["the token does not belong to a bot"]
        try:
            subs = (await self.client.read("/subscriptions")).get("subscriptions") or []
        except ConnectorError as exc:
            return [*problems, f"GET /subscriptions failed: {exc.kind}"]
        urls = [s.get("url") for s in subs]
        if not self.config.options.get("webhook"):
            if urls:
                problems.append("a webhook subscription is active, so long polling gets nothing: "
                                "DELETE /subscriptions, or set options.webhook = true")
        else:
            if not self.config.secrets.get("webhook_secret"):
                problems.append("webhook mode needs the secret 'webhook_secret'")
            expected = self.config.options.get("webhook_url")
            if not urls:
                problems.append("webhook mode, but no subscription is registered with MAX (subscribe)")
            elif expected and expected not in urls:
                problems.append(f"the subscribed webhooks are {', '.join(map(str, urls))}, not {expected}")
        for chat_id in self.config.options.get("chat_ids", []):
            try:
                member = await self.client.read(f"/chats/{int(chat_id)}/members/me")
            except ConnectorError as exc:
                problems.append(f"chat {chat_id}: membership unreadable ({exc.kind})")
                continue
            if not member.get("is_admin"):
                problems.append(f"chat {chat_id}: the bot is not an administrator, so MAX sends it nothing")
            elif "read_all_messages" not in (member.get("permissions") or []):
                problems.append(f"chat {chat_id}: the bot lacks the read_all_messages permission")
        return problems

    # -- `otklik normalize` --------------------------------------------------------------------
    @classmethod
    @total(PLATFORM)
    def parse(cls, payload: Any, source: str = "sample") -> list[Message]:
        """Updates, lists of them, GET /updates and GET /messages answers, bare Message objects and
        webhook bodies; error answers raise the classified error."""
        if isinstance(payload, list):
            return [m for item in payload for m in cls.parse(item, source)]
        if not isinstance(payload, dict):
            raise Malformed("a MAX payload is a JSON object or array", platform=PLATFORM)
        if "update_type" in payload:
            return map_update(payload, source)
        if isinstance(payload.get("updates"), list):
            return cls.parse(payload["updates"], source)
        if isinstance(payload.get("messages"), list):
            return cls.parse(payload["messages"], source)
        if "recipient" in payload:
            m = map_message(payload, EventKind.NEW, source)
            return [m] if m else []
        if isinstance(payload.get("message"), dict):  # SendMessageResult: our own message
            return cls.parse(payload["message"], source)
        if "code" in payload or payload.get("success") is False:
            raise_for_error(400 if payload.get("success") is not False else 200, payload)
        if "user_id" in payload or "subscriptions" in payload or "success" in payload:
            return []  # GET /me, GET /subscriptions, plain results: nothing a citizen wrote
        raise Malformed("not a MAX update, message or response", platform=PLATFORM)
