"""The Bot API (`/graph/me/...`) for the group's chats, as documented at apiok/documentation
(graph.user.*): chats, message history, sending, webhook subscriptions and their delivery.

Facts reproduced: `access_token` in the query; POST bodies are JSON; history is newest first
between `to` and `from` (timestamps in ms, both inclusive); `/me/chats` pages with `marker`;
a webhook gets every new message not written by the group, must answer 200 within 5 s and is
retried otherwise; a webhook failing for 8 hours is unsubscribed.
Assumptions (not in the docs): errors use the REST envelope `{error_code, error_msg, error_data}`;
sending one message answers `{"success": true, "message_id": "mid:..."}`.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import httpx
from aiohttp import web

from sandbox.ok.rest import OkError, decode_anchor, encode_anchor
from sandbox.ok.uploads import shown
from sandbox.ok.world import GROUP_ID, GROUP_NAME, ChatMessage

if TYPE_CHECKING:
    from sandbox.ok.emulator import OkEmulator

WEBHOOK_TIMEOUT = 5.0
WEBHOOK_GIVE_UP = 8 * 3600


def _error(exc: OkError) -> web.Response:
    return web.json_response(exc.body())


class BotApi:
    def __init__(self, emu: OkEmulator) -> None:
        self.emu = emu
        self.subscriptions: dict[str, int] = {}  # url -> subscribed at (ms)
        self.webhook_log: list[tuple[str, str, int | str]] = []  # (url, mid, status or error)
        self.webhook_failures = 0

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/graph/me/info", self._wrap(self.info))
        app.router.add_get("/graph/me/chats", self._wrap(self.chats))
        app.router.add_get("/graph/me/chat", self._wrap(self.chat))
        app.router.add_get("/graph/me/chat/{chat_id}", self._wrap(self.chat))
        app.router.add_get("/graph/me/messages", self._wrap(self.history))
        app.router.add_get("/graph/me/messages/{chat_id}", self._wrap(self.history))
        app.router.add_post("/graph/me/messages/{chat_id}", self._wrap(self.send))
        app.router.add_post("/graph/me/subscribe", self._wrap(self.subscribe))
        app.router.add_post("/graph/me/unsubscribe", self._wrap(self.unsubscribe))
        app.router.add_get("/graph/me/subscriptions", self._wrap(self.list_subscriptions))
        app.router.add_get("/graph/me/fileUploadUrl", self._wrap(self.file_upload_url))

    def _wrap(self, handler):
        async def run(request: web.Request) -> web.Response:
            try:
                self.emu.check_bot_token(request.query.get("access_token", ""))
                self.emu.check_rate(f"bot:{request.query.get('access_token', '')}")
                params: dict[str, Any] = {**request.query, **request.match_info}
                body: dict[str, Any] = {}
                if request.method == "POST":
                    try:
                        body = json.loads(await request.read() or b"{}")
                    except (json.JSONDecodeError, UnicodeDecodeError):
                        raise OkError(100, "Request body is not JSON") from None
                    if not isinstance(body, dict):
                        raise OkError(100, "Request body must be a JSON object")
                return web.json_response(handler(params, body))
            except OkError as exc:
                return _error(exc)

        return run

    # -- reading -------------------------------------------------------------------------------
    def info(self, params: dict, body: dict) -> dict[str, Any]:
        return {"name": GROUP_NAME, "group_id": f"group:{GROUP_ID}"}

    def chats(self, params: dict, body: dict) -> dict[str, Any]:
        try:
            count = max(1, min(100, int(params.get("count") or 100)))
        except ValueError:
            raise OkError(100, "count must be a number") from None
        ordered = sorted(self.emu.chats.values(), key=lambda c: (c.last_event_time, c.chat_id), reverse=True)
        start = 0
        if params.get("marker"):
            after = decode_anchor(params["marker"], "chat")
            ids = [c.chat_id for c in ordered]
            start = ids.index(after) + 1 if after in ids else len(ids)
        page = ordered[start : start + count]
        out: dict[str, Any] = {"chats": [c.wire() for c in page]}
        if start + count < len(ordered):
            out["marker"] = encode_anchor("chat", page[-1].chat_id)
        return out

    def _chat(self, params: dict):
        chat_id = params.get("chat_id") or ""
        chat = self.emu.chats.get(chat_id)
        if chat is None:
            raise OkError(300, f"Chat {chat_id} not found")
        return chat

    def chat(self, params: dict, body: dict) -> dict[str, Any]:
        return self._chat(params).wire()

    def history(self, params: dict, body: dict) -> dict[str, Any]:
        chat = self._chat(params)
        try:
            newest = int(params.get("from") or 2**62)
            oldest = int(params.get("to") or 0)
            count = max(1, min(100, int(params.get("count") or 20)))
        except ValueError:
            raise OkError(100, "from, to and count must be numbers") from None
        if self.emu.faults.pick("graph/me/messages", {"duplicate"}):
            oldest = max(0, oldest - 60_000)  # re-delivers what the previous page already had
        items = [m for m in reversed(chat.messages) if oldest <= m.timestamp <= newest][:count]
        return {"messages": [m.wire() for m in items]}

    # -- writing -------------------------------------------------------------------------------
    def file_upload_url(self, params: dict, body: dict) -> dict[str, Any]:
        """graph.user.fileUploadUrl: for `type=IMAGE` the upload answers a photo token, for `FILE`
        (the default) the token comes with the URL (uploads.py)."""
        kind = (params.get("type") or "FILE").upper()
        if kind == "FILE":
            return self.emu.uploads.file_slot(self.emu.base_url)
        if kind != "IMAGE":
            raise OkError(100, "Only type=IMAGE and type=FILE uploads are emulated")
        slot = self.emu.uploads.slot(self.emu.base_url, 1)
        return {"url": slot["upload_url"], "file_id": slot["photo_ids"][0]}

    def send(self, params: dict, body: dict) -> dict[str, Any]:
        recipient = body.get("recipient") or {}
        message = body.get("message") or {}
        if not isinstance(message, dict):
            raise OkError(100, "message must be an object")
        text = message.get("text") or ""
        if not text.strip() and not (message.get("attachments") or message.get("attachment")):
            raise OkError(100, "Message text is empty")
        if recipient.get("user_ids") or recipient.get("user_id"):
            return self._send_to_users(recipient, text)
        chat = self._chat({"chat_id": recipient.get("chat_id") or params.get("chat_id")})
        if recipient.get("chat_id") and recipient["chat_id"] != params.get("chat_id"):
            raise OkError(100, "recipient.chat_id does not match the chat in the path")
        photos = [shown(p) for p in self.emu.uploads.chat_photos(message)]
        wire = [{"type": "IMAGE" if p["type"] == "PHOTO" else "FILE", "payload": {"id": p["id"], "url": p["url"]}}
                for p in photos]
        msg = chat.new_message(self.emu.now_ms(), text, f"group:{GROUP_ID}", GROUP_NAME, wire)
        # The Bot API has no reply-to: a chat reply answers the chat.
        self.emu.record_reply(
            {"chat_id": chat.chat_id, "message_id": msg.mid, "reply_to": chat.chat_id, "text": text,
             "attachments": photos}
        )
        return {"success": True, "message_id": msg.mid}

    def _send_to_users(self, recipient: dict, text: str) -> dict[str, Any]:
        ids = recipient.get("user_ids") or [recipient["user_id"]]
        success, chat_ids = [], []
        for raw in ids:
            uid = str(raw).removeprefix("user:")
            chat = self.emu.dialogs.get(uid)
            if chat is None:  # the user never allowed the group to write to them
                success.append(False)
                chat_ids.append(None)
                continue
            msg = chat.new_message(self.emu.now_ms(), text, f"group:{GROUP_ID}", GROUP_NAME)
            self.emu.record_reply(
                {"chat_id": chat.chat_id, "message_id": msg.mid, "reply_to": chat.chat_id, "text": text}
            )
            success.append(True)
            chat_ids.append(chat.chat_id)
        return {"success": success, "chat_ids": chat_ids}

    def subscribe(self, params: dict, body: dict) -> dict[str, Any]:
        url = str(body.get("url") or "")
        if not url.startswith(("http://", "https://")):
            raise OkError(100, "url must be an http: or https: URL")
        self.subscriptions.setdefault(url, self.emu.now_ms())
        return {"success": True}

    def unsubscribe(self, params: dict, body: dict) -> dict[str, Any]:
        self.subscriptions.pop(str(body.get("url") or ""), None)
        return {"success": True}

    def list_subscriptions(self, params: dict, body: dict) -> dict[str, Any]:
        return {"subscriptions": [{"time": t, "url": u} for u, t in self.subscriptions.items()]}

    # -- webhooks ------------------------------------------------------------------------------
    def notify(self, msg: ChatMessage, times: int = 1) -> None:
        """Deliver a citizen's new message to every subscribed URL (in the background)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not served (a unit test driving the emulator directly): nobody to call
        for url in list(self.subscriptions):
            for _ in range(times):
                loop.create_task(self._deliver(url, msg))

    async def _deliver(self, url: str, msg: ChatMessage) -> None:
        body = msg.wire(with_name=False)
        started = self.emu.clock()
        delay = 0.2
        async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT) as client:
            while url in self.subscriptions:
                try:
                    r = await client.post(
                        url, json=body, headers={"Content-Type": "application/json;charset=utf-8"}
                    )
                    outcome: int | str = r.status_code
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                self.webhook_log.append((url, msg.mid, outcome))
                if outcome == 200:
                    return
                self.webhook_failures += 1
                if self.emu.clock() - started >= WEBHOOK_GIVE_UP:
                    self.subscriptions.pop(url, None)  # "may be automatically cancelled"
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
