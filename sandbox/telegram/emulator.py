"""Telegram Bot API emulator: `/bot<token>/<method>` with the real envelopes, offsets and limits.

What it models (facts from core.telegram.org/bots/api):
- getUpdates: updates are confirmed by asking with a larger offset; unconfirmed ones live 24 h;
  `timeout` long-polls; a second poller terminates the first with 409; 409 while a webhook is set.
- setWebhook / deleteWebhook / getWebhookInfo with `secret_token`, delivered in
  X-Telegram-Bot-Api-Secret-Token, retried with back-off while the endpoint fails.
- sendMessage with `reply_parameters` (and the legacy `reply_to_message_id`), 4096-character texts,
  limits of ~1 message/s per chat, 20/min per group and 30/s overall answered with 429 retry_after.
- a channel with a linked discussion group: a channel post appears in the group as an automatic
  forward, and comments are group messages replying to that forward.
Bots never receive their own messages, and the Bot API does not report deletions.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any

import httpx
from aiohttp import web

from sandbox.base import Emulator
from sandbox.faults import FaultRule

TOKEN = "7000000001:AAH-demo-token-for-the-emulator-only"
BOT = {"id": 7000000001, "is_bot": True, "first_name": "Отклик", "username": "otklik_demo_bot"}
GROUP = {"id": -1001000000001, "title": "Жители Северного района", "type": "supergroup", "username": "severny_chat"}
CHANNEL = {"id": -1001000000002, "title": "Администрация Северного района", "type": "channel",
           "username": "severny_adm"}
DISCUSSION = {"id": -1001000000003, "title": "Обсуждение новостей администрации", "type": "supergroup"}
TELEGRAM_SERVICE_USER = {"id": 777000, "is_bot": False, "first_name": "Telegram"}
RETENTION = 24 * 3600
MAX_TEXT = 4096


def _error(code: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=code)


class TelegramEmulator(Emulator):
    name = "telegram"

    def __init__(self, *, seed: int = 0, clock: Any = None, long_poll_cap: float = 2.0) -> None:
        super().__init__(seed=seed, clock=clock)
        self.tokens = {TOKEN}
        self.revoked: set[str] = set()
        self.blocked_chats: set[int] = set()
        self.updates: deque[tuple[int, float, dict]] = deque()
        self.next_update_id = 100_000
        self.message_ids: dict[int, int] = {}  # next message id per chat
        self.messages: dict[tuple[int, int], dict] = {}  # (chat_id, message_id) -> message
        self.chats: dict[int, dict] = {}  # every chat the bot has seen
        self.sent_log: dict[str, deque[float]] = {}
        self.webhook: dict[str, Any] = {"url": "", "secret_token": None, "last_error_message": None}
        self.long_poll_cap = long_poll_cap
        self._new_update = asyncio.Event()
        self._poll_generation = 0
        self._channel_forward: dict | None = None
        self.rate_limited = 0  # 429s answered by the limits themselves (not injected faults)

    # -- admin hooks ---------------------------------------------------------------------------
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
            return _error(429, f"Too Many Requests: retry after {rule.retry_after}", rule.retry_after)
        if kind == "auth":
            return _error(401, "Unauthorized")
        return _error(502, "Bad Gateway")

    # -- citizens ------------------------------------------------------------------------------
    def _new_message(self, chat: dict, sender: dict, text: str, **extra: Any) -> dict:
        mid = self.message_ids.get(chat["id"], 1)
        self.message_ids[chat["id"]] = mid + 1
        msg = {"message_id": mid, "from": sender, "chat": chat, "date": int(self.clock()), "text": text, **extra}
        self.chats[chat["id"]] = chat
        self.messages[(chat["id"], mid)] = msg
        return msg

    def _push(self, kind: str, message: dict) -> int:
        update_id = self.next_update_id
        self.next_update_id += 1
        update = {"update_id": update_id, kind: message}
        self.updates.append((update_id, self.clock(), update))
        if self.faults.pick("inject", {"duplicate"}):
            self.updates.append((self.next_update_id, self.clock(), {**update, "update_id": self.next_update_id}))
            self.next_update_id += 1
        self._new_update.set()
        if self.webhook["url"]:
            asyncio.get_running_loop().create_task(self._deliver_webhook())
        return update_id

    def _channel_post_forward(self) -> dict:
        """The administration's channel post as it appears in the discussion group."""
        if self._channel_forward is None:
            post = self._new_message(CHANNEL, None, "Начался ремонт дорог в Северном районе. Пишите, где нужен ремонт.",
                                     sender_chat=CHANNEL)
            post.pop("from")
            self._channel_forward = self._new_message(
                DISCUSSION, TELEGRAM_SERVICE_USER, post["text"], sender_chat=CHANNEL, is_automatic_forward=True,
                forward_origin={"type": "channel", "chat": CHANNEL, "message_id": post["message_id"],
                                "date": post["date"]})
        return self._channel_forward

    def inject(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"text", "author_id"?, "author_name"?, "chat": private|group|channel_comment,
        "kind": new|edit|delete, "chat_id"+"message_id" for edit/delete}`."""
        kind = payload.get("kind", "new")
        if kind in ("edit", "delete"):
            key = (int(payload["chat_id"]), int(payload["message_id"]))
            msg = self.messages.get(key)
            if msg is None:
                return {"error": "no such message"}
            if kind == "delete":  # the Bot API tells bots nothing about deletions
                self.messages.pop(key)
                return {"delivered": False}
            edited = {**msg, "text": payload["text"], "edit_date": int(self.clock())}
            self.messages[key] = edited
            return {"update_id": self._push("edited_message", edited), "chat_id": key[0], "message_id": key[1]}
        author_id = int(payload.get("author_id", 500_000 + self.next_id()))
        sender = {"id": author_id, "is_bot": False, "first_name": payload.get("author_name", "Житель"),
                  "language_code": "ru"}
        where = payload.get("chat", "private")
        if where == "group":
            msg = self._new_message(GROUP, sender, payload["text"])
        elif where == "channel_comment":
            fwd = self._channel_post_forward()
            msg = self._new_message(DISCUSSION, sender, payload["text"], reply_to_message=fwd,
                                    message_thread_id=fwd["message_id"])
        else:
            chat = {"id": author_id, "type": "private", "first_name": sender["first_name"]}
            msg = self._new_message(chat, sender, payload["text"])
        return {"update_id": self._push("message", msg), "chat_id": msg["chat"]["id"],
                "message_id": msg["message_id"]}

    # -- Bot API -------------------------------------------------------------------------------
    def setup_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self.dispatch)
        app.router.add_post("/_sandbox/revoke", self._admin_revoke)
        app.router.add_post("/_sandbox/block", self._admin_block)

    async def _admin_revoke(self, request: web.Request) -> web.Response:
        self.revoke((await request.json()).get("token", TOKEN))
        return web.json_response({"ok": True})

    async def _admin_block(self, request: web.Request) -> web.Response:
        self.blocked_chats.add(int((await request.json())["chat_id"]))
        return web.json_response({"ok": True})

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.body_exists:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                params.update(dict(await request.post()))
        return params

    async def dispatch(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if token not in self.tokens or token in self.revoked:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        handler = getattr(self, f"m_{method}", None)
        if handler is None:
            return _error(404, "Not Found")
        try:
            params = await self._params(request)
        except (ValueError, json.JSONDecodeError):
            return _error(400, "Bad Request: can't parse request body")
        return await handler(params)

    @staticmethod
    def ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    async def m_getMe(self, params: dict) -> web.Response:
        return self.ok(BOT)

    def _expire(self) -> None:
        horizon = self.clock() - RETENTION
        while self.updates and self.updates[0][1] < horizon:
            self.updates.popleft()

    async def m_getUpdates(self, params: dict) -> web.Response:
        if self.webhook["url"]:
            return _error(409, "Conflict: can't use getUpdates method while webhook is active; "
                               "use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset", 0) or 0)
        limit = max(1, min(100, int(params.get("limit", 100) or 100)))
        timeout = min(float(params.get("timeout", 0) or 0), self.long_poll_cap)
        self._poll_generation += 1
        generation = self._poll_generation
        self._new_update.set()  # wakes an older poller, which then answers 409
        await asyncio.sleep(0)
        self._new_update.clear()
        if offset:
            while self.updates and self.updates[0][0] < offset:  # confirmed by the larger offset
                self.updates.popleft()
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            self._expire()
            ready = [u for uid, _, u in self.updates if uid >= offset][:limit]
            if ready:
                return self.ok(ready)
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return self.ok([])
            try:
                await asyncio.wait_for(self._new_update.wait(), remaining)
            except TimeoutError:
                return self.ok([])
            self._new_update.clear()
            if generation != self._poll_generation:
                return _error(409, "Conflict: terminated by other getUpdates request; "
                                   "make sure that only one bot instance is running")

    async def m_setWebhook(self, params: dict) -> web.Response:
        self.webhook = {"url": params.get("url", ""), "secret_token": params.get("secret_token"),
                        "last_error_message": None}
        if self.webhook["url"] and self.updates:
            asyncio.get_running_loop().create_task(self._deliver_webhook())
        return self.ok(True)

    async def m_deleteWebhook(self, params: dict) -> web.Response:
        if str(params.get("drop_pending_updates", "")).lower() == "true":
            self.updates.clear()
        self.webhook = {"url": "", "secret_token": None, "last_error_message": None}
        return self.ok(True)

    async def m_getWebhookInfo(self, params: dict) -> web.Response:
        return self.ok({"url": self.webhook["url"], "has_custom_certificate": False,
                        "pending_update_count": len(self.updates),
                        **({"last_error_message": self.webhook["last_error_message"]}
                           if self.webhook["last_error_message"] else {})})

    async def _deliver_webhook(self) -> None:
        """POST pending updates one by one; an update leaves the queue only when answered 2xx."""
        delay = 0.2
        async with httpx.AsyncClient(timeout=5) as client:
            while self.webhook["url"] and self.updates:
                uid, _, update = self.updates[0]
                headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook["secret_token"]} \
                    if self.webhook["secret_token"] else {}
                try:
                    r = await client.post(self.webhook["url"], json=update, headers=headers)
                    ok = 200 <= r.status_code < 300
                    error = None if ok else f"Wrong response from the webhook: {r.status_code}"
                except httpx.HTTPError as exc:
                    ok, error = False, f"Connection error: {type(exc).__name__}"
                if ok:
                    if self.updates and self.updates[0][0] == uid:
                        self.updates.popleft()
                    delay = 0.2
                    continue
                self.webhook["last_error_message"] = error
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _rate_limited(self, chat_id: int) -> int | None:
        """Seconds to wait if this send breaks a limit; otherwise records it and returns None."""
        now = self.clock()
        limits = [("all", 30, 1.0), (f"chat:{chat_id}", 1, 1.0)]
        if chat_id < 0:
            limits.append((f"group:{chat_id}", 20, 60.0))
        for key, rate, per in limits:
            log = self.sent_log.setdefault(key, deque())
            while log and log[0] <= now - per:
                log.popleft()
            if len(log) >= rate:
                return max(1, int(log[0] + per - now + 0.999))
        for key, _, _ in limits:
            self.sent_log[key].append(now)
        return None

    async def m_sendMessage(self, params: dict) -> web.Response:
        try:
            chat_id = int(params["chat_id"])
        except (KeyError, ValueError):
            return _error(400, "Bad Request: chat not found")
        text = params.get("text") or ""
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT:
            return _error(400, "Bad Request: message is too long")
        if chat_id in self.blocked_chats:
            return _error(403, "Forbidden: bot was blocked by the user")
        reply = params.get("reply_parameters")
        if isinstance(reply, str):
            reply = json.loads(reply)
        if reply is None and params.get("reply_to_message_id"):
            reply = {"message_id": int(params["reply_to_message_id"])}
        target = None
        if reply:
            target = self.messages.get((int(reply.get("chat_id", chat_id)), int(reply["message_id"])))
            if target is None and not reply.get("allow_sending_without_reply"):
                return _error(400, "Bad Request: message to be replied not found")
        chat = self.chats.get(chat_id)
        if chat is None:
            return _error(400, "Bad Request: chat not found")
        wait = self._rate_limited(chat_id)
        if wait is not None:
            self.rate_limited += 1
            return _error(429, f"Too Many Requests: retry after {wait}", wait)
        extra: dict[str, Any] = {}
        if target is not None:
            extra["reply_to_message"] = target
        if params.get("message_thread_id"):
            extra["message_thread_id"] = int(params["message_thread_id"])
        sent = self._new_message(chat, BOT, text, **extra)
        self.record_reply({"chat_id": chat_id, "message_id": sent["message_id"],
                           "reply_to": f"{chat_id}:{target['message_id']}" if target else None, "text": text})
        return self.ok(sent)
