"""Telegram: getUpdates long polling (the offset advances only after we stored the batch) or a
webhook with `secret_token`; replies with `reply_parameters` in the citizen's chat or thread.

Options (SourceConfig.options): `poll_timeout` (s, default 25), `limit` (updates per poll, 100),
`webhook` (true: updates arrive at /webhooks/<source>, fetch does nothing), `webhook_url` (what
`register_webhook` and `check` expect), `own_chat_ids` (chats that speak for the administration:
its channel, besides those learnt from automatic forwards), `allow_sending_without_reply`
(default: only in private chats), `rps` (overall sends per second, default 28 < Telegram's 30),
`privacy_mode_ok` (the bot is an admin in its groups, so privacy mode does not hide messages),
`read_attempts` (3), `request_timeout` (s, 20). Secrets: `token`, `webhook_secret` (webhook mode).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from connectors import media
from connectors.base import Connector, WebhookRefused, WebhookResult, same_secret
from connectors.errors import AuthFailed, ConnectorError, Fatal, Malformed
from connectors.parsing import map_each, reading, total
from connectors.ratelimit import ChatTurns
from connectors.telegram.client import TelegramClient, raise_for_envelope
from connectors.telegram.mapping import (
    bot_id_of,
    map_message,
    map_update,
    message_url,
    own_chats_seen,
    update_id,
)
from otklik import safejson
from otklik.models import Batch, Delivery, EventKind, Message, Platform, Rejected, Reply

ALLOWED_UPDATES = ["message", "edited_message", "channel_post", "edited_channel_post"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's limits for sending: ~30 messages/s overall, ~1/s in a chat, 20/min in a group. Our
# windows and Telegram's are measured at two ends of the wire, so we keep a small margin.
PER_CHAT_WINDOW = 1.1
GROUP_PER_MINUTE = 19
MAX_CAPTION = 1024  # a photo's or album's caption (Bot API)


class TelegramConnector(Connector):
    platform: ClassVar[Platform] = Platform.TELEGRAM
    # The Bot API has no idempotency key and cannot read a chat back: a send that died mid-way
    # is left to a person (workers/jobs.py parks it as `uncertain`).
    send_is_idempotent = False
    can_read_back = False

    def __init__(self, config, **kw) -> None:
        super().__init__(config, **kw)
        self._client: TelegramClient | None = None
        self._chat_turns = ChatTurns(PER_CHAT_WINDOW)
        self.own_chat_ids: set[int] = {int(i) for i in self.config.options.get("own_chat_ids", [])}

    @property
    def client(self) -> TelegramClient:
        if self._client is None:
            opts = self.config.options
            self._client = TelegramClient(
                self.http,
                self.config.secret("token"),
                self.config.base_url,
                read_attempts=int(opts.get("read_attempts", 3)),
                backoff=float(opts.get("retry_backoff", 0.5)),
                request_timeout=float(opts.get("request_timeout", 20.0)),
            )
        return self._client

    @property
    def bot_id(self) -> int | None:
        return bot_id_of(self.config.secret("token"))

    def _map(self, update: dict) -> list[Message]:
        self.own_chat_ids |= own_chats_seen(update)
        return map_update(update, self.config.name, self.bot_id, self.own_chat_ids)

    # -- receiving -----------------------------------------------------------------------------
    @total("telegram")
    async def fetch(self, cursor: str | None) -> Batch:
        if self.config.options.get("webhook"):
            return Batch()  # updates come to handle_webhook; getUpdates would answer 409
        timeout = int(self.config.options.get("poll_timeout", 25))
        limit = int(self.config.options.get("limit", 100))
        offset = int(cursor) if cursor else None
        # Asking with offset = last stored + 1 confirms the previous batch to Telegram; the poller
        # asks only after that batch and its cursor were committed together.
        updates = await self.client.long_poll(
            wait=timeout, offset=offset, limit=limit, allowed_updates=ALLOWED_UPDATES
        )
        if not isinstance(updates, list):
            raise Malformed("getUpdates returned something that is not a list", platform="telegram")
        if not updates:
            return Batch()
        ids = []
        for u in updates:
            with contextlib.suppress(TypeError, ValueError):
                ids.append(update_id(u))
        if not ids:  # nothing to move the offset past: the same answer would come back forever
            raise Malformed("getUpdates returned no update with an update_id", platform="telegram")
        rejected: list[Rejected] = []
        messages = map_each(updates, self._map, platform="telegram", rejected=rejected,
                            id_of=lambda u: u.get("update_id"))
        # max(): a re-delivered old update must never move the cursor back.
        next_offset = max(max(ids) + 1, offset or 0)
        return Batch(messages=messages, rejected=rejected, next_cursor=str(next_offset),
                     has_more=len(updates) >= limit)

    def authenticate_webhook(self, headers: Mapping[str, str], path_token: str | None) -> None:
        """The secret is a header, so a forged delivery is refused before its body is read."""
        super().authenticate_webhook(headers, path_token)
        secret = self.config.secrets.get("webhook_secret")
        if secret is None or not secret.get_secret_value():
            raise WebhookRefused(f"source {self.config.name}: secret 'webhook_secret' is not configured",
                                 reason="not_configured", status=404, platform="telegram")
        got = next((v for k, v in headers.items() if k.lower() == SECRET_HEADER.lower()), None)
        if got is None:
            raise WebhookRefused("no secret token header", reason="no_secret", status=401, platform="telegram")
        if not same_secret(got, secret.get_secret_value()):
            raise WebhookRefused("webhook secret token mismatch", reason="bad_secret", platform="telegram")

    async def handle_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookResult:
        """One update POSTed by Telegram. A wrong or missing secret raises WebhookRefused (the daemon
        answers 401/403); a body that is not an update object raises Malformed (400); anything we
        answer with 2xx is confirmed, so the daemon stores first."""
        self.authenticate_webhook(headers, None)
        try:
            update = safejson.loads(body)
        except safejson.BadJson as exc:
            raise Malformed(f"webhook body: {exc}", platform="telegram") from None
        if not isinstance(update, dict):
            raise Malformed("webhook body is not a JSON object (an Update)", platform="telegram")
        return WebhookResult(messages=self._map(update))

    async def register_webhook(self, url: str | None = None, *, drop_pending_updates: bool = False) -> None:
        """setWebhook with our secret and update kinds (`url` defaults to options.webhook_url)."""
        url = url or self.config.options.get("webhook_url")
        if not url:
            raise Fatal("no webhook URL: pass one or set options.webhook_url", platform="telegram")
        await self.client.call(
            "setWebhook",
            url=url,
            secret_token=self.config.secret("webhook_secret"),
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=drop_pending_updates,
        )

    async def delete_webhook(self) -> None:
        """Back to polling; pending updates stay and are fetched by getUpdates."""
        await self.client.call("deleteWebhook")

    # -- sending -------------------------------------------------------------------------------
    async def _wait_for_limits(self, chat_id: int | str) -> None:
        """Shared limits (every worker of this bot): group, then chat, then overall. The overall
        one is taken last, right before the request: a slot taken early and used late is how a
        burst overshoots Telegram's 30/s. It is kept as an even spacing (1/rps s between sends),
        not rps per window, because requests reach Telegram with jittered latency and a full
        window sent at once would, seen at Telegram's end, overlap the next one."""
        bot = self.bot_id
        if isinstance(chat_id, str) or chat_id < 0:  # groups and channels: negative ids or @names
            await self.limiter.wait(f"telegram:{bot}:group:{chat_id}", GROUP_PER_MINUTE, 60.0)
        await self.limiter.wait(f"telegram:{bot}:chat:{chat_id}", 1, PER_CHAT_WINDOW)
        await self.limiter.wait(f"telegram:{bot}:all", 1, 1.0 / float(self.config.options.get("rps", 28)))

    def _allow_without_reply(self, chat_id: int | str) -> bool:
        """Post even if the citizen's message is gone? In a private chat the answer still makes
        sense; in a group it would hang detached from the question, so it fails for a person."""
        policy = self.config.options.get("allow_sending_without_reply")
        if policy is not None:
            return bool(policy)
        return isinstance(chat_id, int) and chat_id > 0

    async def send(self, reply: Reply) -> Delivery:
        """sendMessage in the citizen's chat, as a reply to their message. Not idempotent (the Bot
        API has no key): errors are raised classified, and the worker owns retries."""
        ids = reply.thread.ids
        raw_chat = ids.get("chat_id")
        if raw_chat is None:
            raise Fatal("the reply's thread has no chat_id", platform="telegram")
        chat_id: int | str = (
            raw_chat if isinstance(raw_chat, str) and raw_chat.startswith("@") else int(raw_chat)
        )
        params: dict[str, Any] = {"chat_id": chat_id, "text": reply.text}
        if ids.get("message_id"):
            params["reply_parameters"] = {
                "message_id": int(ids["message_id"]),
                "allow_sending_without_reply": self._allow_without_reply(chat_id),
            }
        if ids.get("message_thread_id"):
            params["message_thread_id"] = int(ids["message_thread_id"])
        method, files = "sendMessage", None
        if reply.attachments:
            method, files = await self._with_media(reply, params)
        async with self._chat_turns.turn(chat_id):
            await self._wait_for_limits(chat_id)
            sent = await self.client.call(method, files=files, **params)
        with reading("telegram", f"{method} answer"):
            if isinstance(sent, list):  # an album: the first message stands for the answer
                sent = sent[0]
            return self._delivery(reply, chat_id, sent)

    async def _with_media(self, reply: Reply, params: dict[str, Any]) -> tuple[str, dict]:
        """The answer with its files as ONE post, so it is still sent once: one file by sendPhoto /
        sendVideo / sendDocument, several as an album (sendMediaGroup), the text as the caption.
        The files are read before anything is posted; a caption over 1024 characters fails the
        delivery rather than splitting the answer into two posts."""
        text = params.pop("text")
        if len(text) > MAX_CAPTION:
            raise Fatal(f"an answer with photos goes as their caption, which Telegram limits to {MAX_CAPTION} "
                        f"characters; this one has {len(text)}: shorten it", platform="telegram")
        if len(reply.attachments) > 10:
            raise Fatal("Telegram takes at most 10 files in one album", platform="telegram")
        blobs = [await media.load(a, self.http, platform="telegram", index=i)
                 for i, a in enumerate(reply.attachments, 1)]
        kinds = [{"photo": "photo", "video": "video"}.get(b.kind, "document") for b in blobs]
        if "document" in kinds and set(kinds) != {"document"}:
            raise Fatal("Telegram does not mix documents with photos or videos in one album", platform="telegram")
        files = {f"file{i}": (b.name, b.data, b.mime) for i, b in enumerate(blobs)}
        if len(blobs) == 1:
            params[kinds[0]] = "attach://file0"
            params["caption"] = text
            return "send" + kinds[0].capitalize(), files
        params["media"] = [{"type": k, "media": f"attach://file{i}", **({"caption": text} if i == 0 else {})}
                           for i, k in enumerate(kinds)]
        return "sendMediaGroup", files

    def _delivery(self, reply: Reply, chat_id: int | str, sent: Any) -> Delivery:
        chat = sent.get("chat") or {"id": chat_id}
        return Delivery(
            reply_id=reply.id,
            external_id=f"{chat['id']}:{sent['message_id']}",
            url=message_url(chat, sent["message_id"]),
            posted_at=datetime.now(UTC),
        )

    async def file_url(self, file_id: str) -> str | None:
        """getFile: the download address of a citizen's photo (valid for an hour; it holds the bot
        token, so it is used at once and never stored or logged)."""
        found = await self.client.read("getFile", file_id=file_id)
        with reading("telegram", "getFile answer"):
            path = found.get("file_path")
        if not isinstance(path, str) or not path or ".." in path:
            raise Fatal("getFile gave no file path (a file over 20 MB)", platform="telegram")
        return f"{self.client.base}/file/bot{self.client.token}/{path}"

    async def find_posted(self, reply: Reply) -> Delivery | None:
        """Always None: the Bot API cannot read a chat's history, so there is no way to look for
        our reply. A send whose outcome is unknown is parked as `uncertain` for a person."""
        return None

    # -- health --------------------------------------------------------------------------------
    @total("telegram")
    async def check(self) -> list[str]:
        """getMe (the token is a bot's, privacy mode) and getWebhookInfo (polling vs webhook)."""
        try:
            me = await self.client.read("getMe")
        except AuthFailed as exc:
            return [f"the bot token is rejected ({exc})"]
        problems = []
        if not me.get("is_bot"):
            problems.append("the token does not belong to a bot")
        if me.get("can_read_all_group_messages") is False and not self.config.options.get("privacy_mode_ok"):
            problems.append(
                "privacy mode is on: in groups where the bot is not an admin it sees only commands "
                "and replies to itself (turn it off in @BotFather, or make the bot an admin and set "
                "options.privacy_mode_ok = true)"
            )
        try:
            info = await self.client.read("getWebhookInfo")
        except ConnectorError as exc:
            return [*problems, f"getWebhookInfo failed: {exc.kind}"]
        problems += self._webhook_problems(info)
        return problems

    def _webhook_problems(self, info: dict) -> list[str]:
        url = info.get("url") or ""
        if not self.config.options.get("webhook"):
            if url:
                return [
                    "a webhook is set, so polling gets 409 Conflict: deleteWebhook, or set options.webhook = true"
                ]
            return []
        problems = []
        if not self.config.secrets.get("webhook_secret"):
            problems.append("webhook mode needs the secret 'webhook_secret'")
        expected = self.config.options.get("webhook_url")
        if not url:
            problems.append("webhook mode, but no webhook is registered with Telegram (register_webhook)")
        elif expected and url != expected:
            problems.append(f"the registered webhook is {url}, not {expected}")
        if info.get("last_error_message"):
            problems.append(f"Telegram's last webhook delivery failed: {info['last_error_message']}")
        return problems

    # -- `otklik normalize` --------------------------------------------------------------------
    @classmethod
    @total("telegram")
    def parse(cls, payload: Any, source: str = "sample") -> list[Message]:
        """Updates, lists of updates, method responses (getUpdates, sendMessage, getMe...), bare
        Message objects and webhook bodies; error envelopes raise the classified error."""
        if isinstance(payload, list):
            return [m for item in payload for m in cls.parse(item, source)]
        if not isinstance(payload, dict):
            raise Malformed("a Telegram payload is a JSON object or array", platform="telegram")
        if "ok" in payload or "error_code" in payload:
            raise_for_envelope(payload)
            result = payload.get("result")
            return cls.parse(result, source) if isinstance(result, list | dict) else []
        if "update_id" in payload:
            return map_update(payload, source, own_chat_ids=own_chats_seen(payload))
        if "message_id" in payload:
            m = map_message(payload, EventKind.EDIT if payload.get("edit_date") else EventKind.NEW, source)
            return [m] if m else []
        if "is_bot" in payload or "pending_update_count" in payload:
            return []  # getMe's User, getWebhookInfo: nothing a citizen wrote
        raise Malformed("not a Telegram update, message or response", platform="telegram")
