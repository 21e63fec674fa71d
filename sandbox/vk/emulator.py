"""VK API emulator: `/method/<name>` (v=5.199) with VK's error envelope (HTTP 200), token types and
per-token rate limits, the Bots Long Poll server (`a_check`, `failed` 1/2/3), Callback API
delivery (confirmation, secret, event_id, X-Retry-Counter), wall/board/messages reading, and
replies deduplicated by `guid` and `random_id` as VK does."""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from typing import Any

import httpx
from aiohttp import web

from sandbox.base import Emulator
from sandbox.faults import FaultRule

GROUP_ID = 1234567
TOKENS = {"vk1.a.community-demo-token": "community", "vk1.a.service-demo-token": "service",
          "vk1.a.user-demo-token": "user"}
RPS = {"community": 20, "service": 3, "user": 3}
HISTORY = 1000  # long poll events kept; an older ts gets failed=1
DEDUP_WINDOW = 3600.0  # seconds a guid / random_id is remembered
COMMUNITY_ONLY = {"groups.getLongPollServer", "messages.send", "messages.getConversations", "messages.getHistory"}
USER_OR_SERVICE = {"wall.get", "newsfeed.search"}


def vk_error(code: int, msg: str, params: dict | None = None, **extra: Any) -> web.Response:
    request_params = [{"key": k, "value": str(v)} for k, v in (params or {}).items() if k != "access_token"]
    return web.json_response({"error": {"error_code": code, "error_msg": msg, "request_params": request_params,
                                        **extra}})


class MessagesNotAllowed(Exception):
    pass


class VkEmulator(Emulator):
    name = "vk"

    def __init__(self, *, seed: int = 0, clock: Any = None, long_poll_cap: float = 2.0) -> None:
        super().__init__(seed=seed, clock=clock)
        self.revoked: set[str] = set()
        self.captcha_next = False
        self.messages_blocked: set[int] = set()  # peers who did not allow messages (901)
        self.events: deque[tuple[int, dict]] = deque(maxlen=HISTORY)
        self.next_ts = 1
        self.key = secrets.token_hex(8)
        self.lose_next = False
        self.long_poll_cap = long_poll_cap
        self.posts: dict[int, dict] = {}
        self.comments: dict[int, list[dict]] = {}  # post id -> comments
        self.board: dict[int, list[dict]] = {}  # topic id -> comments
        self.history: dict[int, list[dict]] = {}  # peer id -> messages
        self.guids: dict[str, tuple[float, Any]] = {}
        self.random_ids: dict[tuple[int, int], tuple[float, int]] = {}
        self.rate: dict[str, deque[float]] = {}
        self.callback: dict[str, Any] = {"url": None, "secret": None, "code": "a1b2c3d4", "confirmed": False}
        self._event = asyncio.Event()
        self.rate_limited = 0

    def demo_secrets(self) -> dict[str, str]:
        return {"token": "vk1.a.community-demo-token", "service_token": "vk1.a.service-demo-token",
                "confirmation": self.callback["code"]}

    def demo_options(self) -> dict[str, Any]:
        return {"group_id": GROUP_ID, "poll_wait": 1}

    def error_response(self, kind: str, rule: FaultRule) -> web.StreamResponse:
        if kind == "429":
            return vk_error(6, "Too many requests per second")
        if kind == "auth":
            return vk_error(5, "User authorization failed: invalid access_token (4).")
        return web.Response(status=502, text="Bad Gateway")

    # -- events -------------------------------------------------------------------------------
    def _push(self, kind: str, obj: dict) -> int:
        ts = self.next_ts
        self.next_ts += 1
        event = {"type": kind, "object": obj, "group_id": GROUP_ID, "event_id": secrets.token_hex(20), "v": "5.199"}
        self.events.append((ts, event))
        if self.faults.pick("inject", {"duplicate"}):
            self.events.append((self.next_ts, event))  # the same event delivered twice
            self.next_ts += 1
        self._event.set()
        if self.callback["url"]:
            asyncio.get_running_loop().create_task(self._deliver_callback(event))
        return ts

    def _ensure_post(self) -> dict:
        if not self.posts:
            pid = self.next_id()
            self.posts[pid] = {"id": pid, "owner_id": -GROUP_ID, "from_id": -GROUP_ID, "date": int(self.clock()),
                               "post_type": "post", "text": "Новости администрации: ремонт дорог. Пишите, где нужен.",
                               "comments": {"count": 0}}
            self.comments[pid] = []
        return self.posts[max(self.posts)]

    def inject(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"text", "author_id"?, "where": comment|post|board|message, "kind": new|edit|delete, + ids}`."""
        kind = payload.get("kind", "new")
        author = int(payload.get("author_id", 100_000 + self.next_id()))
        now = int(self.clock())
        if kind in ("edit", "delete"):
            return self._change(kind, payload, now)
        where = payload.get("where", "comment")
        if where == "message":
            peer = author
            conv = len(self.history.setdefault(peer, [])) + 1
            msg = {"date": now, "from_id": author, "id": self.next_id(), "out": 0, "peer_id": peer,
                   "text": payload["text"], "conversation_message_id": conv, "fwd_messages": [], "important": False,
                   "random_id": 0, "attachments": [], "is_hidden": False}
            self.history[peer].append(msg)
            self._push("message_new", {"message": msg, "client_info": {"button_actions": ["text"], "keyboard": True,
                                                                       "lang_id": 0}})
            return {"peer_id": peer, "conversation_message_id": conv}
        if where == "board":
            topic = int(payload.get("topic_id", 38446232))
            item = {"id": self.next_id(), "from_id": author, "date": now, "text": payload["text"],
                    "topic_owner_id": -GROUP_ID, "topic_id": topic}
            self.board.setdefault(topic, []).append(item)
            self._push("board_post_new", item)
            return {"topic_id": topic, "comment_id": item["id"]}
        if where == "post":
            pid = self.next_id()
            post = {"id": pid, "owner_id": -GROUP_ID, "from_id": author, "date": now, "post_type": "post",
                    "text": payload["text"], "comments": {"count": 0}}
            self.posts[pid] = post
            self.comments[pid] = []
            self._push("wall_post_new", post)
            return {"owner_id": -GROUP_ID, "post_id": pid}
        post = self._ensure_post()
        comment = {"id": self.next_id(), "from_id": author, "date": now, "text": payload["text"],
                   "post_owner_id": -GROUP_ID, "post_id": post["id"], "owner_id": -GROUP_ID, "parents_stack": [],
                   "thread": {"count": 0, "items": []}}
        self.comments[post["id"]].append(comment)
        post["comments"]["count"] += 1
        self._push("wall_reply_new", comment)
        return {"owner_id": -GROUP_ID, "post_id": post["id"], "comment_id": comment["id"]}

    def _change(self, kind: str, payload: dict, now: int) -> dict:
        if "comment_id" in payload and "post_id" in payload:
            items = self.comments.get(int(payload["post_id"]), [])
            item = next((c for c in items if c["id"] == int(payload["comment_id"])), None)
            if item is None:
                return {"error": "no such comment"}
            if kind == "delete":
                items.remove(item)
                self._push("wall_reply_delete", {"owner_id": -GROUP_ID, "id": item["id"], "deleter_id": item["from_id"],
                                                 "post_id": item["post_id"]})
            else:
                item["text"] = payload["text"]
                self._push("wall_reply_edit", dict(item))
            return {"ok": True}
        if "peer_id" in payload:
            msgs = self.history.get(int(payload["peer_id"]), [])
            msg = next((m for m in msgs if m["conversation_message_id"] == int(payload["conversation_message_id"])), None)
            if msg is None or kind == "delete":
                return {"delivered": False}  # VK sends no event to bots for a deleted private message
            msg.update(text=payload["text"], update_time=now)
            self._push("message_edit", dict(msg))
            return {"ok": True}
        return {"error": "unknown target"}

    # -- HTTP ---------------------------------------------------------------------------------
    def setup_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/method/{name}", self.method)
        app.router.add_route("*", "/lp/{group_id}", self.long_poll)
        app.router.add_post("/_sandbox/captcha", self._admin_captcha)
        app.router.add_post("/_sandbox/callback", self._admin_callback)
        app.router.add_post("/_sandbox/longpoll", self._admin_longpoll)

    async def _admin_captcha(self, request: web.Request) -> web.Response:
        self.captcha_next = True
        return web.json_response({"ok": True})

    async def _admin_callback(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.callback.update(url=body.get("url"), secret=body.get("secret"), confirmed=False)
        return web.json_response(await self._confirm())

    async def _admin_longpoll(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("expire_key"):
            self.key = secrets.token_hex(8)
        if body.get("lose"):
            self.lose_next = True
        if body.get("drop_history"):
            self.events.clear()
        return web.json_response({"ok": True})

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params = dict(request.query)
        if request.method == "POST" and request.body_exists:
            params.update(dict(await request.post()))
        return params

    def _limited(self, token: str, kind: str) -> bool:
        window = self.rate.setdefault(token, deque())
        now = self.clock()
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= RPS[kind]:
            self.rate_limited += 1
            return True
        window.append(now)
        return False

    async def method(self, request: web.Request) -> web.Response:
        self._base = f"{request.scheme}://{request.host}"
        params = await self._params(request)
        name = request.match_info["name"]
        token = params.get("access_token", "")
        kind = TOKENS.get(token)
        if kind is None or token in self.revoked:
            return vk_error(5, "User authorization failed: invalid access_token (4).", params)
        if self._limited(token, kind):
            return vk_error(6, "Too many requests per second", params)
        if self.captcha_next:
            self.captcha_next = False
            return vk_error(14, "Captcha needed", params, captcha_sid="548215953812",
                            captcha_img="https://api.vk.com/captcha.php?sid=548215953812")
        if (name in COMMUNITY_ONLY and kind != "community") or (name in USER_OR_SERVICE and kind == "community"):
            return vk_error(27, "Group authorization failed: method is unavailable with group auth.", params)
        handler = getattr(self, "m_" + name.replace(".", "_"), None)
        if handler is None:
            return vk_error(3, "Unknown method passed.", params)
        try:
            return web.json_response({"response": handler(params)})
        except MessagesNotAllowed:
            return vk_error(901, "Can't send messages for users without permission", params)

    def m_groups_getLongPollServer(self, p: dict) -> dict:
        return {"key": self.key, "server": f"{self._base}/lp/{GROUP_ID}", "ts": str(self.next_ts)}

    def m_groups_getById(self, p: dict) -> list:
        return [{"id": GROUP_ID, "name": "Администрация Северного района", "screen_name": "severny_adm"}]

    def m_wall_get(self, p: dict) -> dict:
        items = sorted(self.posts.values(), key=lambda x: -x["id"])
        if p.get("filter") == "others":
            items = [x for x in items if x["from_id"] != -GROUP_ID]
        off, count = int(p.get("offset", 0)), int(p.get("count", 20))
        return {"count": len(items), "items": items[off:off + count]}

    def m_wall_getComments(self, p: dict) -> dict:
        items = self.comments.get(int(p["post_id"]), [])
        off, count = int(p.get("offset", 0)), int(p.get("count", 100))
        return {"count": len(items), "items": items[off:off + count], "current_level_count": len(items),
                "can_post": True, "show_reply_button": True, "groups_can_post": True}

    def m_board_getComments(self, p: dict) -> dict:
        items = self.board.get(int(p["topic_id"]), [])
        return {"count": len(items), "items": items}

    def m_messages_getConversations(self, p: dict) -> dict:
        items = [{"conversation": {"peer": {"id": peer, "type": "user", "local_id": peer}},
                  "last_message": msgs[-1]} for peer, msgs in self.history.items() if msgs]
        return {"count": len(items), "items": items}

    def m_messages_getHistory(self, p: dict) -> dict:
        items = list(reversed(self.history.get(int(p["peer_id"]), [])))
        return {"count": len(items), "items": items}

    def _dedup(self, registry: dict, key: Any) -> Any:
        hit = registry.get(key)
        return hit[1] if hit and hit[0] > self.clock() - DEDUP_WINDOW else None

    def m_wall_createComment(self, p: dict) -> dict:
        guid = p.get("guid")
        if guid and (known := self._dedup(self.guids, guid)) is not None:
            return {"comment_id": known, "parents_stack": []}
        post_id = int(p["post_id"])
        cid = self.next_id()
        from_id = -GROUP_ID if str(p.get("from_group", "0")) not in ("0", "") else 1
        comment = {"id": cid, "from_id": from_id, "date": int(self.clock()), "text": p.get("message", ""),
                   "post_owner_id": int(p["owner_id"]), "post_id": post_id, "owner_id": int(p["owner_id"]),
                   "reply_to_comment": int(p["reply_to_comment"]) if p.get("reply_to_comment") else None}
        self.comments.setdefault(post_id, []).append(comment)
        if guid:
            self.guids[guid] = (self.clock(), cid)
        target = p.get("reply_to_comment") or f"post{post_id}"
        self.record_reply({"kind": "comment", "reply_to": f"comment:{p['owner_id']}_{target}",
                           "text": comment["text"], "comment_id": cid, "from_id": from_id})
        self._push("wall_reply_new", comment)  # VK shows the community's own comment in the stream too
        return {"comment_id": cid, "parents_stack": []}

    def m_board_createComment(self, p: dict) -> int:
        guid = p.get("guid")
        if guid and (known := self._dedup(self.guids, guid)) is not None:
            return known
        topic = int(p["topic_id"])
        cid = self.next_id()
        item = {"id": cid, "from_id": -GROUP_ID, "date": int(self.clock()), "text": p.get("message", ""),
                "topic_owner_id": -GROUP_ID, "topic_id": topic}
        self.board.setdefault(topic, []).append(item)
        if guid:
            self.guids[guid] = (self.clock(), cid)
        self.record_reply({"kind": "board", "reply_to": f"board:{topic}", "text": item["text"], "comment_id": cid})
        self._push("board_post_new", item)
        return cid

    def m_messages_send(self, p: dict) -> int:
        peer = int(p["peer_id"])
        rid = int(p.get("random_id", 0))
        if rid and (known := self._dedup(self.random_ids, (peer, rid))) is not None:
            return known
        if peer in self.messages_blocked:
            raise MessagesNotAllowed()
        msgs = self.history.setdefault(peer, [])
        mid = self.next_id()
        msg = {"date": int(self.clock()), "from_id": -GROUP_ID, "id": mid, "out": 1, "peer_id": peer,
               "text": p.get("message", ""), "conversation_message_id": len(msgs) + 1, "random_id": rid}
        msgs.append(msg)
        if rid:
            self.random_ids[(peer, rid)] = (self.clock(), mid)
        self.record_reply({"kind": "message", "reply_to": f"msg:{peer}", "text": msg["text"], "message_id": mid})
        self._push("message_reply", msg)
        return mid

    async def long_poll(self, request: web.Request) -> web.Response:
        self._base = f"{request.scheme}://{request.host}"
        params = await self._params(request)
        if params.get("act") != "a_check":
            return web.json_response({"failed": 4, "min_version": 0, "max_version": 1})
        if params.get("key") != self.key:
            return web.json_response({"failed": 2})
        if self.lose_next:
            self.lose_next = False
            return web.json_response({"failed": 3})
        ts = int(params.get("ts", 0))
        oldest = self.events[0][0] if self.events else self.next_ts
        if ts < oldest or ts > self.next_ts:
            # Older than the history kept (or from the future): the client must take a new ts.
            return web.json_response({"failed": 1, "ts": str(self.next_ts)})
        wait = min(float(params.get("wait", 25)), self.long_poll_cap)
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            ready = [e for t, e in self.events if t >= ts]
            if ready:
                return web.json_response({"ts": str(self.next_ts), "updates": ready})
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return web.json_response({"ts": str(ts), "updates": []})
            self._event.clear()
            try:
                await asyncio.wait_for(self._event.wait(), remaining)
            except TimeoutError:
                return web.json_response({"ts": str(ts), "updates": []})

    _base = "http://127.0.0.1"

    async def _confirm(self) -> dict:
        async with httpx.AsyncClient(timeout=5) as client:
            try:
                r = await client.post(self.callback["url"], json={"type": "confirmation", "group_id": GROUP_ID})
                self.callback["confirmed"] = r.text.strip() == self.callback["code"]
            except httpx.HTTPError:
                self.callback["confirmed"] = False
        return {"confirmed": self.callback["confirmed"]}

    async def _deliver_callback(self, event: dict) -> None:
        """POST the event until the server answers "ok", at most five tries, with X-Retry-Counter."""
        if not self.callback["confirmed"]:
            return
        body = {**event, **({"secret": self.callback["secret"]} if self.callback["secret"] else {})}
        async with httpx.AsyncClient(timeout=5) as client:
            for attempt in range(5):
                headers = {"X-Retry-Counter": str(attempt)} if attempt else {}
                try:
                    r = await client.post(self.callback["url"], json=body, headers=headers)
                    if r.status_code == 200 and r.text.strip() == "ok":
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2 * 2**attempt)
