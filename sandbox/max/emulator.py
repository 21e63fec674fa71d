"""MAX Bot API emulator (platform-api2.max.ru): the token in `Authorization`, `{code, message}` errors,
GET /updates with markers, POST /messages and channel comments with link replies, /uploads, webhook
subscriptions delivered with `X-Max-Bot-Api-Secret`, and MAX's limits (30 requests per second per
bot, 2 messages per second per chat) answered with 429 `too.many.requests`.

Deliberate differences from the real service: a subscription URL may be plain http on any port (the
real one wants https on 443), long polls are capped at `long_poll_cap` seconds, the upload host is
this server (`/_upload/<id>`), and with a subscription active GET /updates answers an empty list.

Admin routes beside the shared /_sandbox ones: POST /_sandbox/revoke (every call then gets 401
verify.token), POST /_sandbox/block {"user_id"} (the citizen stops the bot: 403 chat.denied),
POST /_sandbox/demote {"chat_id"} (the bot loses its admin rights there).

A second bot, the administration's staff bot (`STAFF_TOKEN`, staff.py), has people and updates of its
own; /_sandbox/staff/… makes a member of staff write to it and shows what it sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import deque
from typing import Any

import httpx
from aiohttp import web

from sandbox.base import Emulator
from sandbox.faults import FaultRule
from sandbox.max.staff import STAFF_TOKEN, StaffBot
from sandbox.max.world import ADMIN_PERMISSIONS, BOT, CHANNEL, GROUP, TOKEN, MaxWorld  # noqa: F401

MAX_TEXT = 4000
OVERALL_PER_SECOND = 30
PER_CHAT_PER_SECOND = 2
SECRET_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")


def error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


class MaxEmulator(Emulator):
    name = "max"

    def __init__(self, *, seed: int = 0, clock: Any = None, long_poll_cap: float = 2.0,
                 not_ready: int = 0) -> None:
        super().__init__(seed=seed, clock=clock)
        self.world = MaxWorld(lambda: self.clock(), seed)
        self.long_poll_cap = long_poll_cap
        self.not_ready = not_ready  # sends an upload is "not ready" for, as right after a real one
        self.revoked = False
        self.rate_limited = 0  # 429s answered by the limits themselves (not injected faults)
        self.rate_limited_by: dict[str, int] = {}  # which limit: "all" or "chat"
        self.calls: deque[tuple[float, str]] = deque(maxlen=200_000)  # (clock, path): what benches count
        self.subscriptions: list[dict] = []
        self.uploads: dict[str, dict] = {}  # upload id -> {type, token, data, at}
        self.tokens: dict[str, dict] = {}  # attachment token -> upload
        self.delivered = 0
        self.not_ready_answers = 0
        self._sent: dict[str, deque[float]] = {}
        self._waiters: list[asyncio.Future] = []
        self._delivering: asyncio.Task | None = None
        self._last_served: list[dict] = []
        self.base_url = ""
        self.staff = StaffBot(lambda: self.clock(), long_poll_cap, seed)

    def demo_secrets(self) -> dict[str, str]:
        return {"token": TOKEN}

    def demo_options(self) -> dict[str, Any]:
        return {"poll_timeout": 1}

    def curl_examples(self, url: str) -> list[str]:
        """For `otklik sandbox`: reading updates the MAX way (the token in the Authorization header)."""
        return [f"curl -s -H 'Authorization: {TOKEN}' '{url}/updates?timeout=0'",
                f"curl -s -H 'Authorization: {TOKEN}' '{url}/me'"]

    def error_response(self, kind: str, rule: FaultRule) -> web.StreamResponse:
        if kind == "429":
            return error(429, "too.many.requests", "the number of requests is exceeded")
        if kind == "auth":
            return error(401, "verify.token", "Invalid access_token")
        return error(500, "internal.error", "Internal error")

    def sent_by_chat(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.replies:
            out[str(r["chat_id"])] = out.get(str(r["chat_id"]), 0) + 1
        return out

    # -- citizens ------------------------------------------------------------------------------
    def inject(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A citizen (or the administration, with chat=channel_post) writes. Fields: `text`;
        `author_id`, `author_name`, `author_last_name` (a new citizen by default); `chat`: dialog
        (default) | chat | channel_comment (`post_id`: under which post, default the latest, one is
        created if none; `anonymous`: no sender) | channel_post; `reply_to` (a mid); `photo`, `file`,
        `voice`: true adds that attachment; `bodyless`: the update carries no message; `kind`: new
        (default) | edit | delete, the last two with `mid`. Returns mid, chat_id (+ post_id, user_id)."""
        try:
            created = self.world.inject(payload)
        except (KeyError, ValueError) as exc:
            return {"error": str(exc).strip("'")}
        if self.faults.pick("inject", {"duplicate"}):
            self.world.log.push(self.world.log.items[-1][1])  # the same update twice
        self._changed()
        return created

    def _changed(self) -> None:
        for w in self._waiters:
            if not w.done():
                w.set_result(None)
        self._waiters.clear()
        self._kick_delivery()

    # -- HTTP ----------------------------------------------------------------------------------
    def setup_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/me", self.get_me)
        r.add_get("/updates", self.get_updates)
        r.add_post("/messages", self.post_message)
        r.add_get("/messages", self.get_messages)
        r.add_get("/messages/{mid}", self.get_message)
        r.add_post("/messages/{mid}/comments", self.post_comment)
        r.add_get("/messages/{mid}/comments", self.get_comments)
        r.add_get("/subscriptions", self.get_subscriptions)
        r.add_post("/subscriptions", self.post_subscription)
        r.add_delete("/subscriptions", self.delete_subscription)
        r.add_get("/chats/{chat_id}/members/me", self.get_membership)
        r.add_post("/uploads", self.post_upload)
        r.add_post("/_upload/{id}", self.receive_upload)
        r.add_post("/_sandbox/revoke", self._admin(lambda b: setattr(self, "revoked", True)))
        r.add_post("/_sandbox/block", self._admin(lambda b: self.world.blocked_users.add(int(b["user_id"]))))
        r.add_post("/_sandbox/demote", self._admin(lambda b: self.world.not_admin.add(int(b["chat_id"]))))
        self.staff.setup_routes(app)

    def _admin(self, fn):
        async def handler(request: web.Request) -> web.Response:
            fn(await request.json() if request.body_exists else {})
            return web.json_response({"success": True})
        return handler

    @web.middleware
    async def _api_middleware(self, request: web.Request, handler):
        """Authentication and the overall limit for every API call (not the upload host)."""
        if request.path.startswith(("/_sandbox", "/_upload")):
            return await handler(request)
        self.base_url = self.base_url or f"{request.scheme}://{request.host}"
        token = request.headers.get("Authorization")
        if token == STAFF_TOKEN and not self.revoked:
            try:
                return await self.staff.handle(request)
            except (TypeError, ValueError, KeyError, json.JSONDecodeError):
                return error(400, "proto.payload", "Invalid request payload")
        if self.revoked or token != TOKEN:  # a token in the query is no longer accepted
            return error(401, "verify.token", "Invalid access_token")
        self.calls.append((self.clock(), request.path))
        if not self._take("all", OVERALL_PER_SECOND):
            self._limited("all")
            return error(429, "too.many.requests", "the number of requests is exceeded")
        try:
            return await handler(request)
        except (TypeError, ValueError, KeyError, json.JSONDecodeError):
            return error(400, "proto.payload", "Invalid request payload")

    def build_app(self) -> web.Application:
        app = super().build_app()
        app.middlewares.append(self._api_middleware)
        return app

    def _limited(self, which: str) -> None:
        self.rate_limited += 1
        self.rate_limited_by[which] = self.rate_limited_by.get(which, 0) + 1

    def _take(self, key: str, rate: int) -> bool:
        now = self.clock()
        sent = self._sent.setdefault(key, deque())
        while sent and sent[0] <= now - 1.0:
            sent.popleft()
        if len(sent) >= rate:
            return False
        sent.append(now)
        return True

    async def get_me(self, request: web.Request) -> web.Response:
        return web.json_response({**BOT, "last_activity_time": self.world.ms(), "description": None})

    async def get_updates(self, request: web.Request) -> web.Response:
        q = request.query
        limit = int(q.get("limit", 100))
        timeout = int(q.get("timeout", 30))
        if not 1 <= limit <= 1000:
            return error(400, "proto.payload", f"Field 'limit' value ({limit}) must be between 1 and 1000")
        if not 0 <= timeout <= 90:
            return error(400, "proto.payload", f"Field 'timeout' value ({timeout}) must be at most 90")
        types = {t for t in q["types"].split(",") if t} if q.get("types") else None
        log = self.world.log
        if q.get("marker"):
            marker = int(q["marker"])
            duplicate = [u for s, u in log.items if s < marker] if self.faults.pick(
                request.path, {"duplicate"}) else []
            if not duplicate:
                log.confirm(marker)
        else:
            marker, duplicate = None, []
        if self.subscriptions:
            return web.json_response({"updates": [], "marker": marker})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(timeout, self.long_poll_cap)
        while True:
            updates, next_marker = log.pending(limit, types)
            if updates or duplicate or loop.time() >= deadline:
                break
            waiter = loop.create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, deadline - loop.time())
            except TimeoutError:
                pass
        if duplicate:  # the previous answer again, as after a lost response: the marker stays
            return web.json_response({"updates": duplicate[:limit], "marker": marker})
        return web.json_response({"updates": updates, "marker": next_marker})

    # -- sending -------------------------------------------------------------------------------
    def _chat_of(self, request: web.Request) -> tuple[int, str] | web.Response:
        q = request.query
        if q.get("chat_id"):
            chat_id = int(q["chat_id"])
            if chat_id == 0:
                return error(403, "chat.denied", "Invalid chatId: 0")
            if chat_id in (GROUP["chat_id"], CHANNEL["chat_id"]):
                if chat_id in self.world.not_admin:
                    return error(403, "chat.denied", "Method is available only for chat administrator")
                return chat_id, "chat" if chat_id == GROUP["chat_id"] else "channel"
            user_id = chat_id - self.world.dialog_id(0)
            if user_id not in self.world.users:
                return error(404, "not.found", f"Chat {chat_id} not found")
            return self._dialog(user_id)
        if q.get("user_id"):
            user_id = int(q["user_id"])
            if user_id not in self.world.users:
                return error(404, "not.found", f"User {user_id} not found")
            return self._dialog(user_id)
        return error(400, "proto.payload", "chat_id or user_id required")

    def _dialog(self, user_id: int) -> tuple[int, str] | web.Response:
        if user_id in self.world.blocked_users:
            return error(403, "chat.denied", f"Key: error.dialog.suspended, args: [{user_id},].")
        return self.world.dialog_id(user_id), "dialog"

    def _check_body(self, body: Any, *, comment: bool) -> web.Response | None:
        if not isinstance(body, dict):
            return error(400, "proto.payload", "Invalid request payload")
        text = body.get("text") or ""
        if len(text) > MAX_TEXT:
            return error(400, "proto.payload", f"Field 'text' size ({len(text)}) must be at most {MAX_TEXT}")
        if comment and body.get("attachments"):
            return error(400, "proto.payload", "Comments take no attachments")
        if not text.strip() and not body.get("attachments"):
            return error(400, "proto.payload", "text or attachments required")
        link = body.get("link")
        if link is not None and (not isinstance(link, dict) or link.get("type") not in ("reply", "forward")
                                 or not isinstance(link.get("mid"), str)):
            return error(400, "proto.payload", "Invalid link")
        return None

    async def post_message(self, request: web.Request) -> web.Response:
        chat = self._chat_of(request)
        if isinstance(chat, web.Response):
            return chat
        chat_id, chat_type = chat
        body = await request.json()
        bad = self._check_body(body, comment=False)
        if bad is not None:
            return bad
        target = None
        if body.get("link"):
            target = self.world.messages.get(body["link"]["mid"])
            if target is None or target["recipient"]["chat_id"] != chat_id:
                return error(404, "not.found", "Message for reply not found")
        attachments, files = [], []  # files: what arrived by upload, by SHA-256, for tests to compare
        for a in body.get("attachments") or []:
            if a.get("type") == "image" and isinstance((a.get("payload") or {}).get("url"), str):
                attachments.append({"type": "image", "payload": {"url": a["payload"]["url"]}})
                continue
            upload = self.tokens.get((a.get("payload") or {}).get("token"))
            if upload is None:
                return error(400, "proto.payload", "Unknown attachment token")
            if upload["not_ready"] > 0:
                upload["not_ready"] -= 1
                self.not_ready_answers += 1
                return error(400, "attachment.not.ready", "Key: errors.process.attachment.file.not.processed")
            attachments.append({"type": a["type"], "payload": {"token": upload["token"]}})
            files.append(upload.get("sha256"))
        if not self._take(f"chat:{chat_id}", PER_CHAT_PER_SECOND):
            self._limited("chat")
            return error(429, "too.many.requests", "the number of requests is exceeded")
        user = None if chat_type != "dialog" else self.world.users[chat_id - self.world.dialog_id(0)]
        recipient = self.world.recipient(chat_type, user)
        sent = self.world.message(recipient, BOT, body.get("text") or "", attachments=attachments, reply_to=target)
        self.world.messages[sent["body"]["mid"]] = sent
        if chat_type == "chat":  # the bot sees its own message in a group chat: connectors must skip it
            self.world.log.push({"update_type": "message_created", "timestamp": sent["timestamp"], "message": sent})
            self._changed()
        self.record_reply({"chat_id": chat_id, "chat_type": chat_type, "mid": sent["body"]["mid"],
                           "reply_to": target["body"]["mid"] if target else None, "post_id": None,
                           "text": sent["body"]["text"], "attachments": [a["type"] for a in attachments],
                           "files": files})
        return web.json_response({"message": sent})

    async def get_message(self, request: web.Request) -> web.Response:
        msg = self.world.find(request.match_info["mid"])
        return web.json_response(msg) if msg else error(404, "not.found", "Message not found")

    async def get_messages(self, request: web.Request) -> web.Response:
        """GET /messages?chat_id=&count= (≤ 100): the chat's messages, newest first (channel posts here)."""
        try:
            chat_id, count = int(request.query["chat_id"]), int(request.query.get("count", 50))
        except (KeyError, ValueError):
            return error(400, "proto.payload", "chat_id is required")
        if not 1 <= count <= 100:
            return error(400, "proto.payload", "count must be between 1 and 100")
        found = [m for m in self.world.messages.values() if m["recipient"]["chat_id"] == chat_id]
        return web.json_response({"messages": sorted(found, key=lambda m: -m["timestamp"])[:count]})

    async def post_comment(self, request: web.Request) -> web.Response:
        post = self.world.messages.get(request.match_info["mid"])
        if post is None or post["recipient"]["chat_type"] != "channel":
            return error(404, "not.found", "Post not found")
        if CHANNEL["chat_id"] in self.world.not_admin:
            return error(403, "chat.denied", "Method is available only for chat administrator")
        body = await request.json()
        bad = self._check_body(body, comment=True)
        if bad is not None:
            return bad
        target = None
        if body.get("link"):
            target = self.world.comments.get(body["link"]["mid"])
            if target is None or target["recipient"]["post_id"] != post["body"]["mid"]:
                return error(404, "not.found", "Comment for reply not found")
        if not self._take(f"chat:{CHANNEL['chat_id']}", PER_CHAT_PER_SECOND):
            self._limited("chat")
            return error(429, "too.many.requests", "the number of requests is exceeded")
        recipient = {**self.world.recipient("channel", None), "post_id": post["body"]["mid"]}
        sent = self.world.message(recipient, BOT, body.get("text") or "", reply_to=target)
        self.world.comments[sent["body"]["mid"]] = sent  # "для бота на свои действия события не приходят"
        self.record_reply({"chat_id": CHANNEL["chat_id"], "chat_type": "comment", "mid": sent["body"]["mid"],
                           "reply_to": target["body"]["mid"] if target else None, "post_id": post["body"]["mid"],
                           "text": sent["body"]["text"], "attachments": []})
        return web.json_response({"message": sent})

    async def get_comments(self, request: web.Request) -> web.Response:
        mid = request.match_info["mid"]
        items = [c for c in self.world.comments.values() if c["recipient"]["post_id"] == mid]
        return web.json_response({"comments": items[: int(request.query.get("count", 50))], "marker": None})

    # -- subscriptions and membership ----------------------------------------------------------
    async def get_subscriptions(self, request: web.Request) -> web.Response:
        return web.json_response({"subscriptions": [
            {"url": s["url"], "time": s["time"], "update_types": s["update_types"]} for s in self.subscriptions]})

    async def post_subscription(self, request: web.Request) -> web.Response:
        body = await request.json()
        url, secret = body.get("url"), body.get("secret")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return error(400, "proto.payload", "Invalid url")
        if secret is not None and not (5 <= len(secret) <= 256 and set(secret) <= SECRET_CHARS):
            return error(400, "proto.payload", "Invalid secret")
        self.subscriptions = [s for s in self.subscriptions if s["url"] != url]
        self.subscriptions.append({"url": url, "secret": secret, "time": self.world.ms(),
                                   "update_types": body.get("update_types")})
        self._changed()
        return web.json_response({"success": True})

    async def delete_subscription(self, request: web.Request) -> web.Response:
        url = request.query.get("url")
        self.subscriptions = [s for s in self.subscriptions if s["url"] != url]
        return web.json_response({"success": True})

    async def get_membership(self, request: web.Request) -> web.Response:
        chat_id = int(request.match_info["chat_id"])
        if chat_id not in (GROUP["chat_id"], CHANNEL["chat_id"]):
            return error(404, "not.found", "Chat not found")
        admin = chat_id not in self.world.not_admin
        return web.json_response({**BOT, "is_owner": False, "is_admin": admin,
                                  "permissions": ADMIN_PERMISSIONS if admin else None, "join_time": 0})

    # -- uploads -------------------------------------------------------------------------------
    async def post_upload(self, request: web.Request) -> web.Response:
        kind = request.query.get("type")
        if kind not in ("image", "video", "audio", "file"):
            return error(400, "proto.payload", f"Unknown upload type {kind}")
        upload_id = self.world.hex(16)
        self.uploads[upload_id] = {"type": kind, "token": self.world.hex(24), "not_ready": self.not_ready}
        answer = {"url": f"{self.base_url}/_upload/{upload_id}"}
        if kind in ("video", "audio"):
            answer["token"] = self.uploads[upload_id]["token"]
        return web.json_response(answer)

    async def receive_upload(self, request: web.Request) -> web.StreamResponse:
        upload = self.uploads.get(request.match_info["id"])
        if upload is None:
            return web.Response(status=404)
        form = await request.post()
        data = form.get("data")
        if data is None or not hasattr(data, "file"):
            return web.Response(status=400, text="no data")
        content = data.file.read()
        upload["size"], upload["sha256"] = len(content), hashlib.sha256(content).hexdigest()
        self.tokens[upload["token"]] = upload
        if upload["type"] == "image":
            return web.json_response({"photos": {self.world.hex(8): {"token": upload["token"]}}})
        if upload["type"] == "file":
            return web.json_response({"token": upload["token"]})
        return web.Response(text="<retval>1</retval>", content_type="text/xml")

    # -- webhook delivery ----------------------------------------------------------------------
    def _kick_delivery(self) -> None:
        if not self.subscriptions or (self._delivering is not None and not self._delivering.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._delivering = loop.create_task(self._deliver())

    async def _deliver(self) -> None:
        """Each update POSTed to every subscription, in order, with the secret header; only a 200
        confirms it, anything else is retried after a pause (MAX: 60 s, 150 s, ...; here quick)."""
        pause = 0.2
        async with httpx.AsyncClient(timeout=30.0) as client:
            while self.subscriptions and self.world.log.items:
                seq, update = self.world.log.items[0]
                failed = False
                for sub in list(self.subscriptions):
                    headers = {"X-Max-Bot-Api-Secret": sub["secret"]} if sub["secret"] else {}
                    try:
                        r = await client.post(sub["url"], json=update, headers=headers)
                        failed |= r.status_code != 200
                    except httpx.HTTPError:
                        failed = True
                if failed:
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 5.0)
                    continue
                self.delivered += 1
                pause = 0.2
                if self.faults.pick("/webhook-delivery", {"duplicate"}):
                    continue  # the same update again, as after a lost acknowledgement
                self.world.log.confirm(seq + 1)
