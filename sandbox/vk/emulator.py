"""VK API emulator: `/method/<name>` (form or query, `v`, `access_token`) answering in the 5.199
shapes, the Bots Long Poll server, and Callback API delivery.

What it models (VK's documented behaviour; see connectors/vk/README.md):
- errors with HTTP 200 as `{"error": {"error_code", "error_msg", "request_params"}}`;
- token types: community, service, user — a method a type may not call answers 27 (community) or
  28 (service), as VK does; a revoked or unknown token 5;
- per-token limits: 20 requests/s community, 3/s user and service (error 6, request not executed);
  daily quotas per method (error 29); flood control on writes (error 9); 901 when the citizen has
  not allowed messages; captcha (14), internal error (10) and any other code on demand;
- Bots Long Poll: `groups.getLongPollServer` -> {key, server, ts}; `{server}?act=a_check&key&ts&wait`
  -> {ts, updates}; `failed` 1 (ts outside the kept history), 2 (key expired), 3 (information lost);
- Callback API: `confirmation` first (must be answered with the code), then each event with
  `secret` and `event_id`, repeated with `X-Retry-Counter` until the server answers "ok";
- `wall.createComment` dedupes by `guid`, `messages.send` by `random_id` (the same key within an
  hour returns the first result and posts nothing).
Faults from sandbox/faults.py: `5xx` -> HTTP 502 (VK's frontends), `429` -> error 6, `auth` -> error 5,
`duplicate` -> the next injected event is delivered twice (same event_id).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections import Counter, deque
from typing import Any

from aiohttp import web

from sandbox.base import Emulator
from sandbox.faults import FaultRule
from sandbox.vk import methods
from sandbox.vk.callback import CALLBACK_SECRET, CONFIRMATION_CODE, CallbackServer
from sandbox.vk.inject import inject_event
from sandbox.vk.media import KEYS as MEDIA_KEYS
from sandbox.vk.media import Media
from sandbox.vk.uploads import Uploads
from sandbox.vk.world import ADMIN_USER_ID, GROUP_ID, VkApiError, World

COMMUNITY_TOKEN = "vk1.a.sandbox-community-token-for-the-emulator-only"
SERVICE_TOKEN = "sandbox-service-token-for-the-emulator-only"
USER_TOKEN = "vk1.a.sandbox-user-token-for-the-emulator-only"
VERSION = "5.199"
LIMITS = {"community": 20, "user": 3, "service": 3}  # requests per second per token
ALL = frozenset({"community", "user", "service"})
ACCESS: dict[str, frozenset[str]] = {  # VK's access_token_type of each method (vk-api-schema, 5.199)
    "groups.getById": ALL,
    "users.get": ALL,
    "groups.getLongPollServer": frozenset({"community", "user"}),
    "groups.getLongPollSettings": frozenset({"community", "user"}),
    "groups.getCallbackConfirmationCode": frozenset({"community", "user"}),
    "wall.get": frozenset({"user", "service"}),
    "wall.getComments": frozenset({"user", "service"}),
    "wall.createComment": frozenset({"community", "user"}),
    "board.getTopics": frozenset({"user", "service"}),
    "board.getComments": frozenset({"user", "service"}),
    "board.createComment": frozenset({"user"}),
    "messages.getConversations": frozenset({"community", "user"}),
    "messages.getHistory": frozenset({"community", "user"}),
    "messages.send": frozenset({"community", "user"}),
    # Comments under the community's photos, videos and market items: user tokens only.
    "photos.createComment": frozenset({"user"}),
    "video.createComment": frozenset({"user"}),
    "market.createComment": frozenset({"user"}),
    # Uploads (uploads.py): the wall's photo server takes user tokens only, messages' any.
    "photos.getWallUploadServer": frozenset({"user"}),
    "photos.saveWallPhoto": frozenset({"user"}),
    "photos.getMessagesUploadServer": frozenset({"community", "user"}),
    "photos.saveMessagesPhoto": frozenset({"community", "user"}),
    "docs.getWallUploadServer": frozenset({"community", "user"}),
    "docs.getMessagesUploadServer": frozenset({"community", "user"}),
    "docs.save": frozenset({"community", "user"}),
}
WRONG_TYPE = {
    "community": (27, "Group authorization failed: method is unavailable with group auth."),
    "service": (28, "Application authorization failed: method is unavailable with service token."),
    "user": (15, "Access denied: method is unavailable with user auth."),
}
EVENT_TYPES = (
    "message_new",
    "message_reply",
    "message_edit",
    "message_allow",
    "message_deny",
    "wall_post_new",
    "wall_repost",
    "wall_reply_new",
    "wall_reply_edit",
    "wall_reply_delete",
    "wall_reply_restore",
    "board_post_new",
    "board_post_edit",
    "board_post_delete",
    "board_post_restore",
    *(f"{kind}_comment_{what}" for kind in MEDIA_KEYS for what in ("new", "edit", "delete", "restore")),
)
MAX_MESSAGE = 4096
BOARD_MENTION = re.compile(r"^\[post(\d+)\|[^\]]*\]")


class VkEmulator(Emulator):
    name = "vk"

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Any = None,
        long_poll_cap: float = 2.0,
        lp_history: int = 1000,
        key_ttl: float = 3 * 3600,
        dedup_window: float = 3600,
        flood_per_minute: int = 60,
        daily_quota: dict[str, int] | None = None,
        callback_delays: tuple[float, ...] = (0.2, 0.5, 1, 2, 4),
        limits: dict[str, int] | None = None,
    ) -> None:
        super().__init__(seed=seed, clock=clock)
        self.rng = random.Random(seed)
        self.world = World(self.clock)
        self.media = Media(self.world.now)
        self.uploads = Uploads(lambda: self._hex())
        self.tokens: dict[str, str] = {
            COMMUNITY_TOKEN: "community",
            SERVICE_TOKEN: "service",
            USER_TOKEN: "user",
        }
        self.revoked: set[str] = set()
        self.limits = {**LIMITS, **(limits or {})}
        self.windows: dict[str, deque[float]] = {}
        self.peak_rps: Counter[str] = Counter()  # the most requests any token of a kind made within 1 s
        self.by_method: Counter[str] = Counter()
        self.rate_limited = 0  # error 6 answered because a token went over its limit
        self.daily_quota = daily_quota or {}
        self.quota_used: Counter[tuple[int, str, str]] = Counter()
        self.flood_per_minute = flood_per_minute
        self.writes: dict[str, deque[float]] = {}
        self.forced: list[dict[str, Any]] = []  # errors queued by the admin endpoint
        self.captchas: set[str] = set()
        self.dedup_window = dedup_window
        self.dedup: dict[tuple, tuple[float, Any]] = {}
        # Long poll: numbered events, the numbers kept, keys with their issue time.
        self.long_poll_cap = long_poll_cap
        self.lp_events: deque[tuple[int, dict]] = deque(maxlen=lp_history)
        self.lp_last = 0
        self.lp_keys: dict[str, float] = {}
        self.key_ttl = key_ttl
        self.lp_info_lost = False
        self.lp_settings = {
            "is_enabled": True,
            "api_version": VERSION,
            "events": dict.fromkeys(EVENT_TYPES, 1),
        }
        self._new_event = asyncio.Event()
        self.callback = CallbackServer(callback_delays)

    # -- for the demo and tests ------------------------------------------------------------------
    def demo_secrets(self) -> dict[str, str]:
        return {
            "token": COMMUNITY_TOKEN,
            "service_token": SERVICE_TOKEN,
            "user_token": USER_TOKEN,
            "callback_secret": CALLBACK_SECRET,
        }

    def demo_options(self) -> dict[str, Any]:
        return {"group_id": GROUP_ID, "wait": 1, "read_backoff": 0.2}

    def _hex(self) -> str:
        """Event ids and long poll keys: 40 hex digits like VK's, from the seed (recordings repeat)."""
        return f"{self.rng.getrandbits(160):040x}"

    def revoke(self, token: str = COMMUNITY_TOKEN) -> None:
        self.revoked.add(token)

    def force_error(self, code: int, method: str = "", count: int = 1) -> None:
        """The next `count` calls of `method` ("" = any) answer error `code` (14: a captcha)."""
        self.forced.append({"code": int(code), "method": method, "count": int(count)})

    def deny_messages(self, peer_id: int) -> None:
        self.world.conversation(int(peer_id))["allowed"] = False

    def expire_keys(self) -> None:
        self.lp_keys.clear()

    def drop_history(self) -> None:
        """The server forgets its events: a client behind gets failed=1 with a fresh ts."""
        self.lp_events.clear()

    def lose_info(self) -> None:
        self.lp_info_lost = True

    def error_response(self, kind: str, rule: FaultRule) -> web.StreamResponse:
        if kind == "429":
            return _error(6, "Too many requests per second", {})
        if kind == "auth":
            return _error(5, "User authorization failed: invalid access_token (4).", {})
        return web.Response(
            status=502,
            content_type="text/html",
            text="<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad "
            "Gateway</h1></center><hr><center>nginx</center></body></html>",
        )

    # -- events ------------------------------------------------------------------------------------
    def push(self, event: tuple[str, dict] | None) -> int | None:
        """Publish a change as a Bots API event: to the long poll history and the Callback server."""
        if event is None:
            return None
        kind, obj = event
        if not self.lp_settings["events"].get(kind):
            return None
        body = {"group_id": GROUP_ID, "type": kind, "event_id": self._hex(), "v": VERSION, "object": obj}
        copies = 2 if self.faults.pick("inject", {"duplicate"}) else 1
        number = None
        for _ in range(copies):  # a re-delivery keeps the event_id, as VK's do
            self.lp_last += 1
            number = self.lp_last
            self.lp_events.append((number, body))
            self.callback.enqueue(body)
        self._new_event.set()
        return number

    def inject(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A citizen writes. Payload: `text`, `author_id`, `author_name`, `where` (comment | reply |
        post | board | message; default: a seeded mix), `post_id` / `comment_id` / `topic_id` to aim
        at, `attachments` (e.g. [{"type": "photo"}]), `kind` (new | edit | delete | restore) with the
        ids a `new` returned. Returns those ids and the event's long poll number."""
        try:
            return inject_event(self, payload)
        except VkApiError as exc:
            return {"error": exc.msg}

    # -- HTTP --------------------------------------------------------------------------------------
    def setup_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/method/{name}", self.method)
        app.router.add_route("*", "/whp/{group_id}", self.long_poll)
        app.router.add_post("/_vk_upload/{id}", self.uploads.receive)
        app.router.add_post("/_sandbox/vk/errors", self._admin_errors)
        app.router.add_post("/_sandbox/vk/revoke", self._admin_revoke)
        app.router.add_post("/_sandbox/vk/longpoll", self._admin_longpoll)
        app.router.add_post("/_sandbox/vk/callback", self._admin_callback)
        app.router.add_post("/_sandbox/vk/deny_messages", self._admin_deny)
        app.router.add_get("/_sandbox/vk/stats", self._admin_stats)

    async def _admin_errors(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.force_error(body["code"], body.get("method", ""), body.get("count", 1))
        return web.json_response({"ok": True})

    async def _admin_revoke(self, request: web.Request) -> web.Response:
        self.revoke((await request.json()).get("token", COMMUNITY_TOKEN))
        return web.json_response({"ok": True})

    async def _admin_longpoll(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("expire_keys"):
            self.expire_keys()
        if body.get("drop_history"):
            self.drop_history()
        if body.get("lose_info"):
            self.lose_info()
        return web.json_response({"ok": True})

    async def _admin_callback(self, request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response(await self.set_callback(body["url"], body.get("secret", CALLBACK_SECRET)))

    async def _admin_deny(self, request: web.Request) -> web.Response:
        self.deny_messages((await request.json())["peer_id"])
        return web.json_response({"ok": True})

    async def _admin_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    def stats(self) -> dict[str, Any]:
        return {
            "peak_rps": dict(self.peak_rps),
            "limits": self.limits,
            "rate_limited": self.rate_limited,
            "by_method": dict(self.by_method),
            "events": self.lp_last,
            "replies": len(self.replies),
        }

    @staticmethod
    async def _params(request: web.Request) -> dict[str, str]:
        params = dict(request.query)
        if request.method == "POST" and request.body_exists:
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        return params

    async def method(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        params = await self._params(request)
        self._base = f"{request.scheme}://{request.host}"
        try:
            return web.json_response({"response": self.call(name, params)})
        except VkApiError as exc:
            return _error(exc.code, exc.msg, {"method": name, **params}, **exc.extra)

    def call(self, name: str, params: dict[str, str]) -> Any:
        """One method call, checks in VK's order: version, token, method, token type, limits."""
        if not params.get("v"):
            raise VkApiError(8, "Invalid request: v is required")
        token = params.get("access_token", "")
        if not token:
            raise VkApiError(5, "User authorization failed: no access_token passed.")
        kind = self.tokens.get(token)
        if kind is None or token in self.revoked:
            raise VkApiError(5, "User authorization failed: invalid access_token (4).")
        if name not in ACCESS:
            raise VkApiError(3, "Unknown method passed.")
        if kind not in ACCESS[name]:
            raise VkApiError(*WRONG_TYPE[kind])
        self._count(token, kind, name)
        self._forced(name, params)
        self._quota(token, name)
        caller = {"kind": kind, "id": -GROUP_ID if kind == "community" else ADMIN_USER_ID}
        if name in methods.READS:
            return methods.READS[name](self.world, params, caller)
        return getattr(self, "m_" + name.replace(".", "_"))(params, caller, token)

    def _count(self, token: str, kind: str, name: str) -> None:
        now = self.clock()
        window = self.windows.setdefault(token, deque())
        while window and window[0] <= now - 1.0:
            window.popleft()
        window.append(now)  # VK counts the attempt, answered or not
        self.peak_rps[kind] = max(self.peak_rps[kind], len(window))
        self.by_method[name] += 1
        if len(window) > self.limits[kind]:
            self.rate_limited += 1
            raise VkApiError(6, "Too many requests per second")

    def _forced(self, name: str, params: dict) -> None:
        if params.get("captcha_sid") in self.captchas and params.get("captcha_key"):
            self.captchas.discard(params["captcha_sid"])  # answered: this request goes through
            return
        for rule in self.forced:
            if rule["count"] > 0 and rule["method"] in ("", name):
                rule["count"] -= 1
                code = rule["code"]
                if code == 14:
                    sid = str(self.rng.randrange(10**11, 10**12))
                    self.captchas.add(sid)
                    raise VkApiError(
                        14,
                        "Captcha needed",
                        captcha_sid=sid,
                        captcha_img=f"https://api.vk.com/captcha.php?sid={sid}&s=1",
                    )
                if code == 17:  # VK sends the page where the token's owner passes the check
                    raise VkApiError(17, FORCED_MESSAGES[17], redirect_uri=(
                        f"https://m.vk.com/login?act=security_check&api_hash={self._hex()[:18]}"))
                raise VkApiError(code, FORCED_MESSAGES.get(code, "Unknown error occurred"))

    def _quota(self, token: str, name: str) -> None:
        limit = self.daily_quota.get(name)
        if limit is None:
            return
        day = int((self.clock() + 3 * 3600) // 86400)  # VK's day turns at midnight Moscow time
        self.quota_used[(day, token, name)] += 1
        if self.quota_used[(day, token, name)] > limit:
            raise VkApiError(29, "Rate limit reached")

    # -- writes --------------------------------------------------------------------------------------
    def _deduped(self, key: tuple) -> Any:
        hit = self.dedup.get(key)
        return hit[1] if hit is not None and hit[0] > self.clock() - self.dedup_window else None

    def _flood(self, token: str) -> None:
        now = self.clock()
        log = self.writes.setdefault(token, deque())
        while log and log[0] <= now - 60:
            log.popleft()
        if len(log) >= self.flood_per_minute:
            raise VkApiError(9, "Flood control")
        log.append(now)

    @staticmethod
    def _text(params: dict) -> str:
        text = params.get("message", "")
        if not text.strip() and not params.get("attachments") and not params.get("attachment"):
            raise VkApiError(
                100, "One of the parameters specified was missing or invalid: message is empty or invalid"
            )
        return text

    def m_groups_getLongPollServer(self, params: dict, caller: dict, token: str) -> dict:
        if methods._int(params, "group_id") != GROUP_ID:
            raise VkApiError(15, "Access denied: no access to this group")
        key = self._hex()
        self.lp_keys[key] = self.clock()
        return {"key": key, "server": f"{self._base}/whp/{GROUP_ID}", "ts": str(self.lp_last)}

    def m_groups_getLongPollSettings(self, params: dict, caller: dict, token: str) -> dict:
        return json.loads(json.dumps(self.lp_settings))

    def m_groups_getCallbackConfirmationCode(self, params: dict, caller: dict, token: str) -> dict:
        if methods._int(params, "group_id") != GROUP_ID:
            raise VkApiError(15, "Access denied: no access to this group")
        return {"code": CONFIRMATION_CODE}

    def m_wall_createComment(self, params: dict, caller: dict, token: str) -> dict:
        owner, post_id = methods._int(params, "owner_id", 0), methods._int(params, "post_id")
        from_group = str(params.get("from_group", "0"))
        if from_group not in ("0", str(GROUP_ID)):
            raise VkApiError(15, "Access denied: from_group is the id of a community you manage")
        author = -GROUP_ID if caller["kind"] == "community" or from_group == str(GROUP_ID) else caller["id"]
        key = ("wall.createComment", token, params.get("guid")) if params.get("guid") else None
        if key and (known := self._deduped(key)) is not None:
            return known
        if owner != -GROUP_ID:
            raise VkApiError(15, "Access denied: a community token comments on its own wall only")
        text = self._text(params)
        attached = self.uploads.resolve(params)
        self._flood(token)
        reply_to = int(params["reply_to_comment"]) if params.get("reply_to_comment") else None
        comment, event = self.world.add_comment(post_id, author, text, reply_to=reply_to)
        result = {"comment_id": comment["id"], "parents_stack": comment["parents_stack"]}
        if key:
            self.dedup[key] = (self.clock(), result)
        self.push(event)
        target = f"wall{owner}_{post_id}" + (f"_{reply_to}" if reply_to else "")
        self.record_reply(
            {
                "method": "wall.createComment",
                "owner_id": owner,
                "post_id": post_id,
                "comment_id": comment["id"],
                "reply_to_comment": reply_to,
                "reply_to": target,
                "from_id": author,
                "text": text,
                "attachments": attached,
            }
        )
        return result

    def _media_comment(self, kind: str, method: str, params: dict, caller: dict, token: str) -> int:
        """photos/video/market.createComment: `from_group=1` posts as the community (the caller
        must be its admin), `guid` dedupes within the hour; returns the new comment's id."""
        id_key = MEDIA_KEYS[kind][0]
        owner, obj = methods._int(params, "owner_id", caller["id"]), methods._int(params, id_key)
        author = -GROUP_ID if str(params.get("from_group", "0")) == "1" else caller["id"]
        key = (method, token, params.get("guid")) if params.get("guid") else None
        if key and (known := self._deduped(key)) is not None:
            return known
        if owner != -GROUP_ID:
            raise VkApiError(100, f"One of the parameters specified was missing or invalid: {id_key} is invalid")
        text = self._text(params)
        self._flood(token)
        reply_to = int(params["reply_to_comment"]) if params.get("reply_to_comment") else None
        comment, event = self.media.add(kind, obj, author, text, reply_to=reply_to)
        if key:
            self.dedup[key] = (self.clock(), comment["id"])
        self.push(event)
        self.record_reply({
            "method": method, "owner_id": owner, id_key: obj, "comment_id": comment["id"],
            "reply_to_comment": reply_to,
            "reply_to": f"{kind}{owner}_{obj}" + (f"_{reply_to}" if reply_to else ""),
            "from_id": author, "text": text,
        })
        return comment["id"]

    def m_photos_createComment(self, params: dict, caller: dict, token: str) -> int:
        return self._media_comment("photo", "photos.createComment", params, caller, token)

    def m_video_createComment(self, params: dict, caller: dict, token: str) -> int:
        return self._media_comment("video", "video.createComment", params, caller, token)

    def m_market_createComment(self, params: dict, caller: dict, token: str) -> int:
        return self._media_comment("market", "market.createComment", params, caller, token)

    def m_board_createComment(self, params: dict, caller: dict, token: str) -> int:
        if methods._int(params, "group_id") != GROUP_ID:
            raise VkApiError(15, "Access denied: no access to this group")
        topic = methods._int(params, "topic_id")
        key = ("board.createComment", token, params.get("guid")) if params.get("guid") else None
        if key and (known := self._deduped(key)) is not None:
            return known
        text = self._text(params)
        self._flood(token)
        author = -GROUP_ID if str(params.get("from_group", "0")) == "1" else caller["id"]
        comment, event = self.world.add_board_comment(topic, author, text)
        if key:
            self.dedup[key] = (self.clock(), comment["id"])
        self.push(event)
        # Boards have no reply threading: a reply names the post it answers, "[post3|Иван], …".
        mention = BOARD_MENTION.match(text)
        target = f"topic{-GROUP_ID}_{topic}" + (f"_{mention.group(1)}" if mention else "")
        self.record_reply(
            {
                "method": "board.createComment",
                "topic_id": topic,
                "comment_id": comment["id"],
                "reply_to": target,
                "from_id": author,
                "text": text,
            }
        )
        return comment["id"]

    def m_messages_send(self, params: dict, caller: dict, token: str) -> int:
        peer = methods._int(params, "peer_id", methods._int(params, "user_id", 0))
        if not peer:
            raise VkApiError(
                100, "One of the parameters specified was missing or invalid: peer_id is undefined"
            )
        if params.get("random_id") in (None, ""):
            raise VkApiError(
                100,
                "One of the parameters specified was missing or invalid: random_id is a required parameter",
            )
        rid = methods._int(params, "random_id")
        key = ("messages.send", token, rid) if rid else None  # random_id 0: no check, as on VK
        if key and (known := self._deduped(key)) is not None:
            return known
        text = self._text(params)
        if len(text) > MAX_MESSAGE:
            raise VkApiError(914, "Message is too long")
        attached = self.uploads.resolve(params)
        conv = self.world.conversations.get(peer)
        if conv is None or not conv["allowed"]:
            raise VkApiError(901, "Can't send messages for users without permission")
        self._flood(token)
        reply_cmid = None
        if params.get("forward"):
            fwd = json.loads(params["forward"])
            if fwd.get("is_reply") and fwd.get("conversation_message_ids"):
                reply_cmid = int(fwd["conversation_message_ids"][0])
        elif params.get("reply_to"):
            target = next((m for m in conv["messages"] if m["id"] == int(params["reply_to"])), None)
            reply_cmid = target["conversation_message_id"] if target else None
        msg = self.world.add_message(peer, -GROUP_ID, text, out=1, random_id=rid, reply_cmid=reply_cmid)
        if key:
            self.dedup[key] = (self.clock(), msg["id"])
        self.push(("message_reply", dict(msg)))
        self.record_reply(
            {
                "method": "messages.send",
                "peer_id": peer,
                "message_id": msg["id"],
                "reply_to": f"msg{peer}_{reply_cmid}" if reply_cmid else None,
                "random_id": rid,
                "text": text,
                "attachments": attached,
            }
        )
        return msg["id"]

    # -- uploads (uploads.py) ------------------------------------------------------------------------
    def _upload_owner(self, params: dict) -> int:
        group = methods._int(params, "group_id", 0)
        if group and group != GROUP_ID:
            raise VkApiError(15, "Access denied: no access to this group")
        return -GROUP_ID

    def m_photos_getWallUploadServer(self, params: dict, caller: dict, token: str) -> dict:
        return self.uploads.server(self._base, "photo", "wall", self._upload_owner(params))

    def m_photos_saveWallPhoto(self, params: dict, caller: dict, token: str) -> list:
        self._upload_owner(params)
        return [self.uploads.save("photo", "wall", self.uploads.photo_token(params))]

    def m_photos_getMessagesUploadServer(self, params: dict, caller: dict, token: str) -> dict:
        return self.uploads.server(self._base, "photo", "messages", -GROUP_ID)

    def m_photos_saveMessagesPhoto(self, params: dict, caller: dict, token: str) -> list:
        return [self.uploads.save("photo", "messages", self.uploads.photo_token(params))]

    def m_docs_getWallUploadServer(self, params: dict, caller: dict, token: str) -> dict:
        return self.uploads.server(self._base, "doc", "wall", self._upload_owner(params))

    def m_docs_getMessagesUploadServer(self, params: dict, caller: dict, token: str) -> dict:
        return self.uploads.server(self._base, "doc", "messages", -GROUP_ID)

    def m_docs_save(self, params: dict, caller: dict, token: str) -> dict:
        token_ = params.get("file")
        kind = self.uploads.pending.get(token_ or "", {}).get("target", "messages")
        return self.uploads.save("doc", kind, token_)

    # -- Bots Long Poll ------------------------------------------------------------------------------
    async def long_poll(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        if params.get("act") != "a_check" or request.match_info["group_id"] != str(GROUP_ID):
            return web.json_response({"failed": 2})
        issued = self.lp_keys.get(params.get("key", ""))
        if issued is None or issued < self.clock() - self.key_ttl:
            return web.json_response({"failed": 2})
        if self.lp_info_lost:
            self.lp_info_lost = False
            self.lp_keys.clear()
            return web.json_response({"failed": 3})
        try:
            ts = int(params.get("ts", ""))
        except ValueError:
            return web.json_response({"failed": 1, "ts": str(self.lp_last)})
        oldest = self.lp_events[0][0] if self.lp_events else self.lp_last + 1
        if ts > self.lp_last or ts < oldest - 1:
            # Outside the kept history: what lies between is lost; here is where the stream is now.
            return web.json_response({"failed": 1, "ts": str(self.lp_last)})
        wait = min(max(float(params.get("wait", 25) or 0), 0.0), 90.0, self.long_poll_cap)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            ready = [e for n, e in self.lp_events if n > ts][:100]
            if ready:
                return web.json_response({"ts": str(ts + len(ready)), "updates": ready})
            remaining = deadline - loop.time()
            if remaining <= 0:
                return web.json_response({"ts": str(ts), "updates": []})
            self._new_event.clear()
            try:
                await asyncio.wait_for(self._new_event.wait(), remaining)
            except TimeoutError:
                return web.json_response({"ts": str(ts), "updates": []})

    # -- Callback API ----------------------------------------------------------------------------------
    async def set_callback(self, url: str, secret: str | None = CALLBACK_SECRET) -> dict[str, Any]:
        """Add a Callback server, as an admin does in the community's settings, and confirm it."""
        return await self.callback.configure(url, secret)

    @property
    def callback_log(self) -> list[dict[str, Any]]:
        return self.callback.log

    _base = "http://127.0.0.1"


FORCED_MESSAGES = {
    1: "Unknown error occurred",
    5: "User authorization failed: invalid access_token (4).",
    6: "Too many requests per second",
    9: "Flood control",
    10: "Internal server error",
    7: "Permission to perform this action is denied",
    15: "Access denied",
    17: "Validation required: please open redirect_uri in browser",
    260: "Access to the groups list is denied due to the user's privacy settings",
    27: WRONG_TYPE["community"][1],
    28: WRONG_TYPE["service"][1],
    29: "Rate limit reached",
    100: "One of the parameters specified was missing or invalid",
    901: "Can't send messages for users without permission",
}


def _error(code: int, msg: str, params: dict[str, Any], **extra: Any) -> web.Response:
    """VK's error envelope, HTTP 200; request_params echo the request without the token."""
    echo = [{"key": "method", "value": str(params["method"])}] if "method" in params else []
    echo += [{"key": "oauth", "value": "1"}]
    echo += [{"key": k, "value": str(v)} for k, v in params.items() if k not in ("access_token", "method")]
    return web.json_response(
        {"error": {"error_code": code, "error_msg": msg, "request_params": echo, **extra}}
    )
