"""Telegram Bot API emulator: `/bot<token>/<method>` with the real envelopes, offsets and limits.

Methods (GET query, POST form or JSON, names case-insensitive, as the real Bot API takes them):
getMe, getUpdates, setWebhook, deleteWebhook, getWebhookInfo, sendMessage, and sendPhoto / sendVideo /
sendDocument / sendMediaGroup with files uploaded as multipart (`attach://<field>` in an album; the
bytes are kept in `files` by SHA-256, and each reply record lists them). What they model is
described in world.py (chats, updates), limits.py (flood limits) and webhook.py (deliveries).

Deliberate differences from the real service: a webhook URL may be plain http on any port (the real
one wants https on 443/80/88/8443), and long polls are capped at `long_poll_cap` seconds so tests and
the demo stay quick (the real cap is 50 s).

Admin routes beside the shared /_sandbox ones: POST /_sandbox/revoke {"token"?} revokes the bot
token (every call then gets 401), POST /_sandbox/block {"chat_id"} makes the user block the bot.

A second bot, the administration's staff bot (`STAFF_TOKEN`, staff.py), has chats and updates of its
own; /_sandbox/staff/… makes a member of staff write to it and shows what it sent.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from typing import Any

from aiohttp import web

from sandbox.base import Emulator
from sandbox.faults import FaultRule
from sandbox.telegram.limits import SendLimits
from sandbox.telegram.longpoll import BY_SET_WEBHOOK, LongPoll
from sandbox.telegram.staff import STAFF_TOKEN, StaffBot
from sandbox.telegram.webhook import SECRET_TOKEN, Webhook
from sandbox.telegram.world import (  # noqa: F401  (re-exported for tests and the demo)
    BOT,
    BOT_ME,
    CHANNEL,
    DISCUSSION,
    GROUP,
    TOKEN,
    TelegramWorld,
)

MAX_TEXT = 4096
MAX_CAPTION = 1024


def error(code: int, description: str, retry_after: int | None = None) -> web.Response:
    """Telegram's error envelope; `parameters` only where the platform adds it."""
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=code)


def ok(result: Any, description: str | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return web.json_response(body)


def _json_param(value: Any) -> Any:
    """Object parameters arrive JSON-encoded in query strings and forms, as objects in JSON bodies."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


class TelegramEmulator(Emulator):
    name = "telegram"

    def __init__(self, *, seed: int = 0, clock: Any = None, long_poll_cap: float = 2.0) -> None:
        super().__init__(seed=seed, clock=clock)
        self.world = TelegramWorld(self._now)
        self.limits = SendLimits(self._now)
        self.webhook = Webhook()
        self.poll = LongPoll()
        self.long_poll_cap = long_poll_cap
        self.tokens = {TOKEN}
        self.revoked: set[str] = set()
        self.rate_limited = 0  # 429s answered by the limits themselves (not injected faults)
        self.calls: deque[tuple[float, str]] = deque(maxlen=200_000)  # (clock, method): what benches count
        self._last_served: list[dict] = []
        self.files: dict[str, bytes] = {}  # uploaded media by SHA-256, for tests to compare
        self.citizen_files: dict[str, bytes] = {}  # file_id -> the bytes getFile leads to (set by tests)
        self._methods = {name[2:].lower(): getattr(self, name) for name in dir(self) if name.startswith("m_")}
        self.staff = StaffBot(self._now, long_poll_cap, error, ok)
        self.tokens.add(STAFF_TOKEN)

    def _now(self) -> float:
        return self.clock()  # late-bound: tests may replace emulator.clock after construction

    # -- shared state, as tests and the demo use it -------------------------------------------
    @property
    def blocked_chats(self) -> set[int]:
        return self.world.blocked_chats

    @property
    def messages(self) -> dict[tuple[int, int], dict]:
        return self.world.messages

    @property
    def updates(self):
        return self.world.queue.items

    def demo_secrets(self) -> dict[str, str]:
        return {"token": TOKEN}

    def demo_options(self) -> dict[str, Any]:
        return {"poll_timeout": 1}

    def sent_by_chat(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for r in self.replies:
            out[r["chat_id"]] = out.get(r["chat_id"], 0) + 1
        return out

    def revoke(self, token: str = TOKEN) -> None:
        self.revoked.add(token)

    def error_response(self, kind: str, rule: FaultRule) -> web.StreamResponse:
        if kind == "429":
            return error(429, f"Too Many Requests: retry after {rule.retry_after}", rule.retry_after)
        if kind == "auth":
            return error(401, "Unauthorized")
        return error(502, "Bad Gateway")

    # -- citizens ------------------------------------------------------------------------------
    def inject(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A citizen (or, with chat=channel_post, the administration) writes. Payload fields:
        `text`; `author_id`, `author_name`, `author_last_name`, `author_username` (a new citizen by
        default); `chat`: private (default) | group | channel_comment (`post_id`: under which
        channel post, default the latest, one is created if none) | channel_post; `reply_to_message_id`
        (a message in the same chat); `photo`: true sends a photo with `text` as its caption;
        `kind`: new (default) | edit | delete, the last two with `chat_id` + `message_id`.
        Returns update_id (None when the bot is not told), chat_id, message_id."""
        try:
            created = self.world.inject(payload)
        except (KeyError, ValueError) as exc:
            return {"error": str(exc).strip("'")}
        if created.get("update_id") is not None and self.faults.pick("inject", {"duplicate"}):
            # The same message in a second update: the connector must recognise it by its id.
            kind = "edited_message" if payload.get("kind") == "edit" else "message"
            self.world.queue.push(kind, self.world.messages[(created["chat_id"], created["message_id"])])
        self._updates_changed()
        return created

    def _updates_changed(self) -> None:
        self.poll.wake()
        self.webhook.kick(self.world.queue, self.faults, self._now)

    # -- HTTP ----------------------------------------------------------------------------------
    def setup_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self.dispatch)
        app.router.add_get("/file/bot{token}/{path:.+}", self.download)
        app.router.add_post("/_sandbox/revoke", self._admin_revoke)
        app.router.add_post("/_sandbox/block", self._admin_block)
        self.staff.setup_routes(app)

    async def _admin_revoke(self, request: web.Request) -> web.Response:
        body = await request.json() if request.body_exists else {}
        self.revoke(body.get("token", TOKEN))
        return web.json_response({"ok": True})

    async def _admin_block(self, request: web.Request) -> web.Response:
        self.world.blocked_chats.add(int((await request.json())["chat_id"]))
        return web.json_response({"ok": True})

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.body_exists:
            if request.content_type == "application/json":
                body = await request.json()
                if not isinstance(body, dict):
                    raise ValueError("not an object")
                params.update(body)
            else:
                params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        return params

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        if token not in self.tokens or token in self.revoked:
            return error(401, "Unauthorized")
        method = request.match_info["method"].lower()
        self.calls.append((self.clock(), method))
        if token == STAFF_TOKEN:
            try:
                return await self.staff.dispatch(method, await self._params(request))
            except (TypeError, ValueError):
                return error(400, "Bad Request: wrong parameter value")
        handler = self._methods.get(method)
        if handler is None:
            return error(404, "Not Found")
        try:
            params = await self._params(request)
        except ValueError:
            return error(400, "Bad Request: can't parse JSON object")
        try:
            return await handler(request, params)
        except (TypeError, ValueError):  # a number that is not one, an object that is not one
            return error(400, "Bad Request: wrong parameter value")

    # -- methods -------------------------------------------------------------------------------
    async def m_getMe(self, request: web.Request, params: dict) -> web.Response:
        me = dict(BOT_ME)
        me["can_read_all_group_messages"] = not self.world.privacy_mode
        return ok(me)

    async def m_getUpdates(self, request: web.Request, params: dict) -> web.Response:
        if self.webhook.url:
            return error(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        try:
            offset = int(params.get("offset") or 0)
            limit = max(1, min(100, int(params.get("limit") or 100)))
            timeout = max(0.0, min(float(params.get("timeout") or 0), self.long_poll_cap))
        except (TypeError, ValueError):
            return error(400, "Bad Request: wrong parameter value")
        queue = self.world.queue
        if "allowed_updates" in params:
            allowed = _json_param(params["allowed_updates"])
            if not isinstance(allowed, list):
                return error(400, "Bad Request: can't parse allowed updates")
            queue.allowed = allowed
        if offset:
            queue.confirm(offset)
        duplicate = (
            [u for u in self._last_served if u["update_id"] < offset]
            if self.faults.pick(request.path, {"duplicate"})
            else []
        )
        ready = await self.poll.wait(lambda: queue.pending(limit), timeout)
        if isinstance(ready, str):
            return error(409, ready)
        self._last_served = ready or self._last_served
        return ok((duplicate + ready)[:limit] if duplicate else ready)

    async def m_setWebhook(self, request: web.Request, params: dict) -> web.Response:
        url = str(params.get("url") or "")
        secret = params.get("secret_token") or None
        if secret is not None and not SECRET_TOKEN.match(str(secret)):
            return error(400, "Bad Request: secret token contains unallowed characters")
        if url and not url.startswith(("http://", "https://")):
            return error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        allowed = _json_param(params["allowed_updates"]) if "allowed_updates" in params else None
        if allowed is not None:
            self.world.queue.allowed = allowed
        if str(params.get("drop_pending_updates", "")).lower() == "true":
            self.world.queue.drop_all()
        was_set = bool(self.webhook.url)
        self.webhook.set(url, secret, int(params.get("max_connections") or 40), allowed)
        if url:
            self.poll.supersede(BY_SET_WEBHOOK)  # a long poll waiting now ends with 409
        self._updates_changed()
        if not url:
            return ok(True, "Webhook was deleted" if was_set else "Webhook is already deleted")
        return ok(True, "Webhook was set")

    async def m_deleteWebhook(self, request: web.Request, params: dict) -> web.Response:
        if str(params.get("drop_pending_updates", "")).lower() == "true":
            self.world.queue.drop_all()
        was_set = bool(self.webhook.url)
        self.webhook.clear()
        return ok(True, "Webhook was deleted" if was_set else "Webhook is already deleted")

    async def m_getWebhookInfo(self, request: web.Request, params: dict) -> web.Response:
        return ok(self.webhook.info(len(self.world.queue.pending(10_000))))

    async def m_sendMessage(self, request: web.Request, params: dict) -> web.Response:
        text = str(params.get("text") or "")
        if not text.strip():
            return error(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT:
            return error(400, "Bad Request: message is too long")
        return await self._post(params, text=text)

    async def _post(self, params: dict, *, text: str = "", caption: str | None = None,
                    media: list[dict] | None = None) -> web.Response:
        """Post one message (or an album, `media` with more than one item) in the chat the
        parameters name, with the checks sendMessage and the send* methods share."""
        if params.get("chat_id") in (None, ""):
            return error(400, "Bad Request: chat_id is empty")
        chat = self.world.chat_by_ref(params["chat_id"])
        if chat is None:
            return error(400, "Bad Request: chat not found")
        chat_id = chat["id"]
        if chat_id in self.world.blocked_chats:
            if chat["type"] == "private":
                return error(403, "Forbidden: bot was blocked by the user")
            return error(403, f"Forbidden: bot was kicked from the {chat['type']} chat")
        reply = _json_param(params["reply_parameters"]) if "reply_parameters" in params else None
        if reply is None and params.get("reply_to_message_id"):  # the pre-7.0 way, still accepted
            reply = {
                "message_id": params["reply_to_message_id"],
                "allow_sending_without_reply": params.get("allow_sending_without_reply"),
            }
        if reply is not None and (not isinstance(reply, dict) or "message_id" not in reply):
            return error(400, "Bad Request: can't parse reply parameters JSON object")
        target = None
        if reply:
            target_chat = self.world.chat_by_ref(reply.get("chat_id", chat_id)) or chat
            target = self.world.messages.get((target_chat["id"], int(reply["message_id"])))
            if target is None and str(reply.get("allow_sending_without_reply")).lower() != "true":
                return error(400, "Bad Request: message to be replied not found")
        thread_id = params.get("message_thread_id")
        if thread_id and (
            chat["type"] != "supergroup" or (chat_id, int(thread_id)) not in self.world.messages
        ):
            return error(400, "Bad Request: message thread not found")
        wait = self.limits.try_send(chat_id)
        if wait is not None:
            self.rate_limited += 1
            return error(429, f"Too Many Requests: retry after {wait}", wait)
        extra: dict[str, Any] = {}
        if thread_id and target is None:
            extra["message_thread_id"] = int(thread_id)
        items = media or [None]
        group = f"{len(self.replies) + 1}{abs(chat_id)}" if media and len(media) > 1 else None
        sent_all = []
        for i, item in enumerate(items):
            body = text if item is None else ""
            sent = self.world.new_message(chat, BOT, body, reply_to=target, **extra)
            if item is not None:
                sent.pop("text", None)
                sent[item["type"]] = item["object"]
                if i == 0 and caption:
                    sent["caption"] = caption
                if group:
                    sent["media_group_id"] = group
            sent_all.append(sent)
        first = sent_all[0]
        self.record_reply(
            {
                "chat_id": chat_id,
                "message_id": first["message_id"],
                "reply_to": f"{target['chat']['id']}:{target['message_id']}" if target else None,
                "message_thread_id": first.get("message_thread_id"),
                "text": text if media is None else (caption or ""),
                "attachments": [{"type": m["type"], "name": m["name"], "size": m["size"], "sha256": m["sha256"]}
                                for m in media or []],
            }
        )
        return ok(sent_all if media and len(media) > 1 else first)

    # -- citizens' files: getFile, then the download path it names -------------------------------
    async def m_getFile(self, request: web.Request, params: dict) -> web.Response:
        file_id = str(params.get("file_id") or "")
        if file_id not in self.citizen_files:
            return error(400, "Bad Request: invalid file_id")
        data = self.citizen_files[file_id]
        return ok({"file_id": file_id, "file_unique_id": hashlib.sha256(data).hexdigest()[:16],
                   "file_size": len(data), "file_path": f"photos/{file_id}.jpg"})

    async def download(self, request: web.Request) -> web.StreamResponse:
        token, path = request.match_info["token"], request.match_info["path"]
        file_id = path.removeprefix("photos/").removesuffix(".jpg")
        if token not in self.tokens or token in self.revoked or file_id not in self.citizen_files:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=self.citizen_files[file_id], content_type="image/jpeg")

    # -- media: files uploaded as multipart/form-data (`attach://<name>` in an album) -------------
    async def _file(self, request: web.Request, ref: Any, kind: str) -> dict | str:
        """The uploaded file a parameter names (the field itself, or `attach://field`), as the
        item we keep; a string is the error description."""
        form = await request.post()
        field = ref[len("attach://"):] if isinstance(ref, str) and ref.startswith("attach://") else None
        upload = form.get(field) if field else None
        if not isinstance(upload, web.FileField):
            return "Bad Request: there is no file in the request" if field or ref is None else \
                "Bad Request: wrong remote file identifier specified"
        data = upload.file.read()
        if not data:
            return "Bad Request: file must be non-empty"
        if kind == "photo" and len(data) > 10 * 1024 * 1024:
            return "Bad Request: file is too big"
        digest = hashlib.sha256(data).hexdigest()
        self.files[digest] = data
        unique = digest[:16]
        if kind == "photo":
            obj: Any = [{"file_id": f"AgAC{unique}", "file_unique_id": unique, "file_size": len(data),
                         "width": 1, "height": 1}]
        else:
            obj = {"file_id": f"BQAC{unique}", "file_unique_id": unique, "file_size": len(data),
                   "file_name": upload.filename}
        return {"type": kind, "object": obj, "name": upload.filename, "size": len(data), "sha256": digest}

    async def _send_one(self, request: web.Request, params: dict, kind: str) -> web.Response:
        form = await request.post()
        ref = f"attach://{kind}" if isinstance(form.get(kind), web.FileField) else params.get(kind)
        item = await self._file(request, ref, kind)
        if isinstance(item, str):
            return error(400, item)
        caption = str(params.get("caption") or "")
        if len(caption) > MAX_CAPTION:
            return error(400, "Bad Request: message caption is too long")
        return await self._post(params, caption=caption or None, media=[item])

    async def m_sendPhoto(self, request: web.Request, params: dict) -> web.Response:
        return await self._send_one(request, params, "photo")

    async def m_sendVideo(self, request: web.Request, params: dict) -> web.Response:
        return await self._send_one(request, params, "video")

    async def m_sendDocument(self, request: web.Request, params: dict) -> web.Response:
        return await self._send_one(request, params, "document")

    async def m_sendMediaGroup(self, request: web.Request, params: dict) -> web.Response:
        media = _json_param(params.get("media"))
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            return error(400, "Bad Request: wrong number of media specified (2-10)")
        kinds = {m.get("type") for m in media if isinstance(m, dict)}
        if "document" in kinds and kinds != {"document"}:
            return error(400, "Bad Request: documents can't be mixed with other media types")
        items, caption = [], None
        for m in media:
            if not isinstance(m, dict) or m.get("type") not in ("photo", "video", "document"):
                return error(400, "Bad Request: can't parse InputMedia")
            item = await self._file(request, m.get("media"), m["type"])
            if isinstance(item, str):
                return error(400, item)
            if m.get("caption"):
                if len(str(m["caption"])) > MAX_CAPTION:
                    return error(400, "Bad Request: message caption is too long")
                caption = caption or str(m["caption"])
            items.append(item)
        return await self._post(params, caption=caption, media=items)
