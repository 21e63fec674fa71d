"""A second bot in the Telegram emulator: the administration's staff bot, which writes notifications
to members of staff (otklik.staffbot). Its own token, its own private chats and update queue; the
citizens' bot is untouched by it.

It answers getMe, getUpdates (offsets, long polls, 409 on a second poller, as the citizens' bot)
and sendMessage (private chats only; `parse_mode=HTML` checked as Telegram does: an unescaped `<`
or `&`, or an unknown tag, is 400 "can't parse entities"). Tests and the demo make a person write
to it with `write(user_id, text)` or POST /_sandbox/staff/write {"user_id", "text"}; what the bot
sent is in `sent` and at GET /_sandbox/staff/sent; POST /_sandbox/staff/block {"chat_id"} (or
`block(chat_id)`) makes the person block it (403 "bot was blocked by the user", and a
`my_chat_member` update with the status `kicked`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from sandbox import markup
from sandbox.telegram.longpoll import LongPoll
from sandbox.telegram.world import TelegramWorld

STAFF_TOKEN = "7000000002:AAH-staff-bot-token-for-the-emulator"
STAFF_BOT = {"id": 7000000002, "is_bot": True, "first_name": "Отклик: сотрудникам",
             "username": "otklik_staff_bot"}
MAX_TEXT = 4096


class StaffBot:
    def __init__(self, clock: Callable[[], float], long_poll_cap: float,
                 error: Callable[..., web.Response], ok: Callable[..., web.Response]) -> None:
        self.world = TelegramWorld(clock)  # its chats and queue are this bot's alone
        self.poll = LongPoll()
        self.long_poll_cap = long_poll_cap
        self.sent: list[dict[str, Any]] = []  # every message the staff bot sent, in order
        self._error, self._ok = error, ok

    # -- people ------------------------------------------------------------------------------
    def write(self, user_id: int, text: str, *, first_name: str = "Сотрудник", chat: str = "private") -> dict:
        """A person writes to the staff bot in their private chat (`chat="group"`: in a group the
        bot is in). Returns update_id, chat_id, message_id."""
        sender = self.world.citizen({"author_id": user_id, "author_name": first_name})
        if chat == "group":
            target = {"id": -1002000000001, "title": "Сотрудники", "type": "supergroup"}
        else:
            target = self.world.private_chat(sender)
        msg = self.world.new_message(target, sender, text)
        update_id = self.world.queue.push("message", msg)
        self.poll.wake()
        return {"update_id": update_id, "chat_id": target["id"], "message_id": msg["message_id"]}

    def block(self, chat_id: int) -> None:
        """The person blocks the bot: its messages are refused (403) and, as Telegram does, the bot
        gets a `my_chat_member` update with the status `kicked`."""
        self.world.blocked_chats.add(chat_id)
        chat = self.world.chats.get(chat_id)
        if chat is None or chat["type"] != "private":
            return
        user = {"id": chat_id, "is_bot": False, "first_name": chat.get("first_name", "")}
        bot = {**STAFF_BOT}
        self.world.queue.push("my_chat_member", {
            "chat": chat, "from": user, "date": int(self.world.clock()),
            "old_chat_member": {"user": bot, "status": "member"},
            "new_chat_member": {"user": bot, "status": "kicked", "until_date": 0}})
        self.poll.wake()

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["chat_id"] == chat_id]

    # -- Bot API -----------------------------------------------------------------------------
    async def dispatch(self, method: str, params: dict[str, Any]) -> web.Response:
        if method == "getme":
            return self._ok({**STAFF_BOT, "can_join_groups": False, "can_read_all_group_messages": False,
                             "supports_inline_queries": False})
        if method == "getupdates":
            return await self._get_updates(params)
        if method == "sendmessage":
            return self._send(params)
        return self._error(404, "Not Found")

    async def _get_updates(self, params: dict[str, Any]) -> web.Response:
        try:
            offset = int(params.get("offset") or 0)
            limit = max(1, min(100, int(params.get("limit") or 100)))
            timeout = max(0.0, min(float(params.get("timeout") or 0), self.long_poll_cap))
        except (TypeError, ValueError):
            return self._error(400, "Bad Request: wrong parameter value")
        queue = self.world.queue
        if offset:
            queue.confirm(offset)
        ready = await self.poll.wait(lambda: queue.pending(limit), timeout)
        if isinstance(ready, str):
            return self._error(409, ready)
        return self._ok(ready)

    def _send(self, params: dict[str, Any]) -> web.Response:
        text = str(params.get("text") or "")
        if not text.strip():
            return self._error(400, "Bad Request: message text is empty")
        chat = self.world.chat_by_ref(params.get("chat_id"))
        if chat is None or chat["type"] not in ("private", "supergroup"):
            return self._error(400, "Bad Request: chat not found")
        if chat["id"] in self.world.blocked_chats:
            return self._error(403, "Forbidden: bot was blocked by the user")
        parse_mode = params.get("parse_mode")
        if parse_mode not in (None, "", "HTML"):
            return self._error(400, f"Bad Request: unsupported parse_mode {parse_mode}")
        shown = text
        if parse_mode == "HTML":
            fault = markup.check(text)
            if fault:
                return self._error(400, f"Bad Request: can't parse entities: {fault}")
            shown = markup.plain(text)
        if len(shown) > MAX_TEXT:
            return self._error(400, "Bad Request: message is too long")
        sent = self.world.new_message(chat, STAFF_BOT, shown)
        self.sent.append({"chat_id": chat["id"], "message_id": sent["message_id"], "text": text,
                          "parse_mode": parse_mode or None, "plain": shown, "links": markup.links(text)})
        return self._ok(sent)

    # -- admin routes ------------------------------------------------------------------------
    def setup_routes(self, app: web.Application) -> None:
        app.router.add_post("/_sandbox/staff/write", self._admin_write)
        app.router.add_get("/_sandbox/staff/sent", self._admin_sent)
        app.router.add_post("/_sandbox/staff/block", self._admin_block)

    async def _admin_write(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            created = self.write(int(body["user_id"]), str(body.get("text") or ""),
                                 first_name=str(body.get("first_name") or "Сотрудник"),
                                 chat=str(body.get("chat") or "private"))
        except (KeyError, TypeError, ValueError):
            return web.json_response({"error": "user_id (a number) and text are required"}, status=400)
        return web.json_response(created)

    async def _admin_sent(self, request: web.Request) -> web.Response:
        return web.json_response({"sent": self.sent})

    async def _admin_block(self, request: web.Request) -> web.Response:
        self.block(int((await request.json())["chat_id"]))
        return web.json_response({"ok": True})
