"""A second bot in the MAX emulator: the administration's staff bot (otklik.staffbot). Its own token
(in `Authorization`, as every MAX call), its own people and update log; the citizens' bot is
untouched by it.

It answers GET /me, GET /updates (markers, long polls) and POST /messages?user_id= (dialogs only;
`format: "html"` checked: an unescaped `<` or `&`, or an unknown tag, is 400 proto.payload).
Tests make a person write with `write(user_id, text)` (or `start(user_id, payload)`: the person
opens the bot by a deep link, a `bot_started` update), or POST /_sandbox/staff/write {"user_id",
"text"}; what the bot sent is in `sent` and at GET /_sandbox/staff/sent; POST /_sandbox/staff/block
{"user_id"} makes the person stop the bot (403 chat.denied).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

from sandbox import markup
from sandbox.max.world import MaxWorld

STAFF_TOKEN = "max-sandbox-staff-token"
STAFF_BOT = {"user_id": 9_000_002, "first_name": "Отклик: сотрудникам", "last_name": None,
             "name": "Отклик: сотрудникам", "username": "otklik_staff_bot", "is_bot": True,
             "last_activity_time": 0}
MAX_TEXT = 4000


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


class StaffBot:
    def __init__(self, clock: Callable[[], float], long_poll_cap: float, seed: int = 0) -> None:
        self.world = MaxWorld(clock, seed + 1)  # people and updates of this bot alone
        self.long_poll_cap = long_poll_cap
        self.sent: list[dict[str, Any]] = []
        self._waiters: list[asyncio.Future] = []

    # -- people ------------------------------------------------------------------------------
    def write(self, user_id: int, text: str, *, first_name: str = "Сотрудник") -> dict:
        """A person writes to the staff bot in their dialog with it."""
        user = self.world.user({"author_id": user_id, "author_name": first_name})
        recipient = {"chat_id": self.world.dialog_id(user_id), "chat_type": "dialog",
                     "user_id": STAFF_BOT["user_id"]}
        msg = self.world.message(recipient, user, text)
        self.world.messages[msg["body"]["mid"]] = msg
        self.world.log.push({"update_type": "message_created", "timestamp": msg["timestamp"], "message": msg,
                             "user_locale": "ru"})
        self._wake()
        return {"mid": msg["body"]["mid"], "chat_id": recipient["chat_id"], "user_id": user_id}

    def start(self, user_id: int, payload: str | None = None) -> None:
        """The person opens the bot (a deep link's `payload`, if any): `bot_started`."""
        user = self.world.user({"author_id": user_id, "author_name": "Сотрудник"})
        self.world.service("bot_started", chat_id=self.world.dialog_id(user_id), user=user, payload=payload,
                           user_locale="ru")
        self._wake()

    def stop(self, user_id: int) -> None:
        """The person stops the bot: `bot_stopped`, and the bot may no longer write to them."""
        user = self.world.user({"author_id": user_id})
        self.world.blocked_users.add(user_id)
        self.world.service("bot_stopped", chat_id=self.world.dialog_id(user_id), user=user)
        self._wake()

    def sent_to(self, user_id: int) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["user_id"] == user_id]

    def _wake(self) -> None:
        for w in self._waiters:
            if not w.done():
                w.set_result(None)
        self._waiters.clear()

    # -- Bot API -----------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.Response:
        route = (request.method, request.path)
        if route == ("GET", "/me"):
            return web.json_response({**STAFF_BOT, "last_activity_time": self.world.ms(), "description": None})
        if route == ("GET", "/updates"):
            return await self._get_updates(request)
        if route == ("POST", "/messages"):
            return await self._post_message(request)
        return _error(404, "not.found", "Method not found")

    async def _get_updates(self, request: web.Request) -> web.Response:
        q = request.query
        limit, timeout = int(q.get("limit", 100)), int(q.get("timeout", 30))
        if not 1 <= limit <= 1000 or not 0 <= timeout <= 90:
            return _error(400, "proto.payload", "limit is 1–1000, timeout at most 90")
        types = {t for t in q["types"].split(",") if t} if q.get("types") else None
        if q.get("marker"):
            self.world.log.confirm(int(q["marker"]))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(timeout, self.long_poll_cap)
        while True:
            updates, marker = self.world.log.pending(limit, types)
            if updates or loop.time() >= deadline:
                return web.json_response({"updates": updates, "marker": marker})
            waiter = loop.create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, deadline - loop.time())
            except TimeoutError:
                pass

    async def _post_message(self, request: web.Request) -> web.Response:
        if not request.query.get("user_id"):
            return _error(400, "proto.payload", "user_id required")
        user_id = int(request.query["user_id"])
        if user_id not in self.world.users:
            return _error(404, "not.found", f"User {user_id} not found")
        if user_id in self.world.blocked_users:
            return _error(403, "chat.denied", f"Key: error.dialog.suspended, args: [{user_id},].")
        body = await request.json()
        if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not body["text"].strip():
            return _error(400, "proto.payload", "text required")
        text, fmt = body["text"], body.get("format")
        shown = text
        if fmt == "html":
            fault = markup.check(text)
            if fault:
                return _error(400, "proto.payload", f"Invalid html: {fault}")
            shown = markup.plain(text)
        elif fmt not in (None, "markdown"):
            return _error(400, "proto.payload", f"Unknown format {fmt}")
        if len(shown) > MAX_TEXT:
            return _error(400, "proto.payload", f"Field 'text' size ({len(shown)}) must be at most {MAX_TEXT}")
        recipient = {"chat_id": self.world.dialog_id(user_id), "chat_type": "dialog", "user_id": user_id}
        sent = self.world.message(recipient, STAFF_BOT, shown)
        self.world.messages[sent["body"]["mid"]] = sent
        self.sent.append({"user_id": user_id, "mid": sent["body"]["mid"], "text": text, "format": fmt,
                          "plain": shown, "links": markup.links(text)})
        return web.json_response({"message": sent})

    # -- admin routes ------------------------------------------------------------------------
    def setup_routes(self, app: web.Application) -> None:
        app.router.add_post("/_sandbox/staff/write", self._admin_write)
        app.router.add_get("/_sandbox/staff/sent", self._admin_sent)
        app.router.add_post("/_sandbox/staff/block", self._admin_block)

    async def _admin_write(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            created = self.write(int(body["user_id"]), str(body.get("text") or ""),
                                 first_name=str(body.get("first_name") or "Сотрудник"))
        except (KeyError, TypeError, ValueError):
            return web.json_response({"error": "user_id (a number) and text are required"}, status=400)
        return web.json_response(created)

    async def _admin_sent(self, request: web.Request) -> web.Response:
        return web.json_response({"sent": self.sent})

    async def _admin_block(self, request: web.Request) -> web.Response:
        self.stop(int((await request.json())["user_id"]))
        return web.json_response({"success": True})
