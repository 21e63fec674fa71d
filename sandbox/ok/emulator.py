"""Odnoklassniki emulator: signed REST at `/fb.do` and the Bot API at `/graph/me/...`.

What it models (apiok/documentation and public captures, see world.py for the shapes):
- `/fb.do` by GET or POST form with `application_key`, `method`, `format=json`, `access_token`,
  `sig = md5(sorted "k=v" of all params except sig and access_token + md5(access_token +
  application_secret_key))`, lowercase hex;
- errors `{error_data, error_code, error_msg}` with HTTP 200: 2 service unavailable (the injected
  5xx fault), 8 flood (more than `rps_limit` calls a second per token, or the injected 429),
  100 bad parameter, 101 unknown application, 102 session expired (a revoked token, or the injected
  auth fault), 103 unknown token, 104 bad signature, 300 not found;
- `mediatopic.getTopics`, `discussions.get`, `discussions.getComments` (anchors FIRST/LAST and
  opaque ones, FORWARD/BACKWARD, `has_more`), `discussions.addDiscussionComment` (`as_admin`,
  `reply_to_comment_id`, `attachments`), `group.getInfo`, `photosV2.getUploadUrl` and the upload
  server (uploads.py: the photos are kept and shown on the comment or chat message);
- the Bot API (graph.py) with webhook delivery.
OK tells nobody about edited or deleted comments: an edit changes the text in place, a deletion
removes the comment (and lowers the topic's comments_count).
"""

from __future__ import annotations

import contextvars
import hashlib
from collections import deque
from typing import Any

from aiohttp import web

from sandbox.base import Emulator
from sandbox.faults import FaultRule
from sandbox.ok import rest
from sandbox.ok.graph import BotApi
from sandbox.ok.rest import OkError
from sandbox.ok.uploads import Uploads
from sandbox.ok.world import GROUP_ID, Chat, Comment, Topic, User, comment_id

APPLICATION_KEY = "CBAEMULATORABABABA"
APPLICATION_SECRET_KEY = "0DEMO0SECRET0KEY0FOR0EMULATOR0ONLY"
ACCESS_TOKEN = "-s-demo.access.token.for.the.emulator.only"
BOT_TOKEN = "tkn1demoBotTokenForTheEmulatorOnly:CQABPOJKAKEKEKEKE"
ADMIN_UID = "500000000001"  # the person whose token the group's access_token is
SEED_TOPICS = (  # oldest first: the roads topic is the newest, where citizens comment by default
    "График вывоза мусора на летний период: вопросы можно задать в комментариях.",
    "Начался ремонт дорог в Северном районе. Напишите в комментариях, где ремонт нужен в первую очередь.",
)
_path: contextvars.ContextVar[str] = contextvars.ContextVar("ok_emulator_path", default="")


def signature(params: dict[str, str], secret_key: str) -> str:
    """OK's session signature (written independently of the connector's on purpose)."""
    token = params.get("access_token", "")
    base = "".join(f"{k}={params[k]}" for k in sorted(params) if k not in ("sig", "access_token"))
    secret = hashlib.md5((token + secret_key).encode()).hexdigest()
    return hashlib.md5((base + secret).encode()).hexdigest()


class OkEmulator(Emulator):
    name = "ok"

    def __init__(self, *, seed: int = 0, clock: Any = None, rps_limit: int = 10) -> None:
        super().__init__(seed=seed, clock=clock)
        self.app_secrets = {APPLICATION_KEY: APPLICATION_SECRET_KEY}
        self.tokens = {ACCESS_TOKEN}
        self.bot_tokens = {BOT_TOKEN}
        self.revoked: set[str] = set()
        self.admin_uid = ADMIN_UID
        self.rps_limit = rps_limit
        self.rate_limited = 0  # error 8 answered by the limit itself (not an injected fault)
        self.calls: list[tuple[float, str]] = []  # (clock(), "rest" | "bot") of every platform call
        self._windows: dict[str, deque[float]] = {}
        self.users: dict[str, User] = {ADMIN_UID: User(ADMIN_UID, "Ольга", "Модератова")}
        self.topics: dict[str, Topic] = {}
        self.chats: dict[str, Chat] = {}
        self.dialogs: dict[str, Chat] = {}  # uid -> the user's personal chat with the group
        self.redeliver: dict[str, bool] = {}  # comment ids the duplicate fault serves again
        self._topic_seq = 0
        self._comment_n = 10_000
        self.bot = BotApi(self)
        self.uploads = Uploads(lambda: f"{self.next_id():x}")
        self.base_url = ""  # this server's address as the client reached it (upload URLs point here)
        for text in SEED_TOPICS:
            self.post_topic(text)
        self.group_chat = self.new_chat("Чат жителей Северного района")

    # -- admin hooks ---------------------------------------------------------------------------
    def demo_secrets(self) -> dict[str, str]:
        return {
            "access_token": ACCESS_TOKEN,
            "application_secret_key": APPLICATION_SECRET_KEY,
            "bot_token": BOT_TOKEN,
        }

    def demo_options(self) -> dict[str, Any]:
        return {"application_key": APPLICATION_KEY, "group_id": GROUP_ID}

    def revoke(self, token: str = ACCESS_TOKEN) -> None:
        self.revoked.add(token)

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def error_response(self, kind: str, rule: FaultRule) -> web.StreamResponse:
        graph = _path.get().startswith("/graph/")
        if kind == "429":
            if graph:  # assumed: the Bot API's front answers a real 429
                return web.json_response(
                    OkError(8).body(), status=429, headers={"Retry-After": str(rule.retry_after)}
                )
            return web.json_response(OkError(8).body())
        if kind == "auth":
            return web.json_response(OkError(102).body())
        if graph:
            return web.Response(
                status=502,
                content_type="text/html",
                text="<html><body><h1>502 Bad Gateway</h1></body></html>",
            )
        return web.json_response(OkError(2).body())

    # -- the group's content -------------------------------------------------------------------
    def user(self, uid: str, name: str | None = None) -> User:
        if uid not in self.users:
            first, _, last = (name or "Житель Района").partition(" ")
            self.users[uid] = User(uid, first, last, gender="female" if len(self.users) % 2 else "male")
        return self.users[uid]

    def post_topic(self, text: str, author_uid: str | None = None) -> Topic:
        self._topic_seq += 1
        ms = self.now_ms() + self._topic_seq  # distinct creation times keep the order stable
        topic = Topic(
            id=str(155_000_000_000_000 + self._topic_seq),
            created_ms=ms,
            author_ref=f"user:{author_uid}" if author_uid else f"group:{GROUP_ID}",
            text=text,
        )
        self.topics[topic.id] = topic
        return topic

    def add_comment(
        self,
        topic: Topic,
        author_id: str,
        text: str,
        *,
        by_group: bool = False,
        reply_to: Comment | None = None,
    ) -> Comment:
        self._comment_n += 1
        ms = self.now_ms()
        comment = Comment(
            seq=topic.next_seq,
            id=comment_id(ms, self._comment_n, topic.id),
            author_id=author_id,
            text=text,
            created_ms=ms,
            by_group=by_group,
            reply_to_comment_id=reply_to.id if reply_to else None,
            reply_to_id=reply_to.author_id if reply_to else None,
        )
        topic.next_seq += 1
        topic.comments.append(comment)
        topic.last_activity_ms = ms
        return comment

    def new_chat(self, title: str) -> Chat:
        n = len(self.chats) + len(self.dialogs) + 1
        chat = Chat(
            chat_id=f"chat:C{0x3E000000000 + n:011x}0",
            title=title,
            owner_id=f"user:{ADMIN_UID}",
            created_ms=self.now_ms(),
        )
        self.chats[chat.chat_id] = chat
        return chat

    def find_comment(self, cid: str) -> tuple[Topic, Comment] | None:
        for topic in self.topics.values():
            for c in topic.comments:
                if c.id == cid:
                    return topic, c
        return None

    def inject(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"text", "author_id"?, "author_name"?, "target": comment|topic|chat, "discussion_id"?,
        "reply_to"? (a comment id), "chat_id"?, "attachments"? (chat), "kind": new|edit|delete,
        "id" (comment or topic) or "chat_id"+"message_id" for edit/delete}`. Defaults: a comment
        under the administration's newest topic."""
        kind = payload.get("kind", "new")
        if kind in ("edit", "delete"):
            return self._change(kind, payload)
        uid = str(payload.get("author_id") or 900_000_000_000 + self.next_id())
        author = self.user(uid, payload.get("author_name"))
        text = payload.get("text", "")
        target = payload.get("target", "comment")
        if target == "topic":
            topic = self.post_topic(text, author.uid)
            return {"id": topic.id, "discussion_id": topic.id}
        if target == "chat":
            chat = self.chats.get(payload.get("chat_id") or "") or self.group_chat
            msg = chat.new_message(
                self.now_ms(), text, f"user:{uid}", author.name, payload.get("attachments")
            )
            duplicate = self.faults.pick("inject", {"duplicate"}) is not None
            self.bot.notify(msg, times=2 if duplicate else 1)
            return {"chat_id": chat.chat_id, "message_id": msg.mid}
        topic = self.topics.get(payload.get("discussion_id") or "") or self._newest_group_topic()
        answered = self.find_comment(str(payload["reply_to"])) if payload.get("reply_to") else None
        if payload.get("reply_to") and answered is None:
            return {"error": "no such comment to reply to"}
        reply_to = answered[1] if answered else None
        comment = self.add_comment(topic, uid, text, reply_to=reply_to)
        if self.faults.pick("inject", {"duplicate"}):
            self.redeliver[comment.id] = True
        return {"id": comment.id, "discussion_id": topic.id}

    def _newest_group_topic(self) -> Topic:
        ours = [t for t in self.topics.values() if t.author_ref.startswith("group:")]
        return max(ours, key=lambda t: t.created_ms)

    def _change(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        if payload.get("message_id"):  # chats: the Bot API reports neither edits nor deletions
            chat = self.chats.get(payload.get("chat_id") or "")
            msg = next((m for m in chat.messages if m.mid == payload["message_id"]), None) if chat else None
            if msg is None:
                return {"error": "no such message"}
            if kind == "delete":
                chat.messages.remove(msg)
            else:
                msg.text = payload["text"]
            return {"delivered": False}
        found = self.find_comment(str(payload.get("id")))
        if found is None:
            topic = self.topics.get(str(payload.get("id")))
            if topic is None:
                return {"error": "no such comment or topic"}
            if kind == "delete":
                self.topics.pop(topic.id)
            else:
                topic.text = payload["text"]
            return {"id": topic.id, "delivered": False}
        topic, comment = found
        if kind == "delete":
            topic.comments.remove(comment)
        else:
            comment.text = payload["text"]
        return {"id": comment.id, "discussion_id": topic.id, "delivered": False}

    # -- HTTP ----------------------------------------------------------------------------------
    def build_app(self) -> web.Application:
        app = super().build_app()
        app.middlewares.insert(0, self._remember_path)
        return app

    @web.middleware
    async def _remember_path(self, request: web.Request, handler):
        self.base_url = f"{request.scheme}://{request.host}"
        if not request.path.startswith(("/_sandbox", "/_ok_upload")):
            self.calls.append((self.clock(), "bot" if request.path.startswith("/graph/") else "rest"))
        _path.set(request.path)
        return await handler(request)

    def setup_routes(self, app: web.Application) -> None:
        app.router.add_route("GET", "/fb.do", self.fb_do)
        app.router.add_route("POST", "/fb.do", self.fb_do)
        app.router.add_post("/_sandbox/revoke", self._admin_revoke)
        app.router.add_get("/_sandbox/calls", self._admin_calls)
        app.router.add_post("/_ok_upload/{id}", self.uploads.receive)
        self.bot.routes(app)

    async def _admin_revoke(self, request: web.Request) -> web.Response:
        self.revoke((await request.json()).get("token", ACCESS_TOKEN))
        return web.json_response({"ok": True})

    async def _admin_calls(self, request: web.Request) -> web.Response:
        """Every platform call's time and API, for a benchmark running in another process."""
        return web.json_response({"calls": self.calls, "rate_limited": self.rate_limited})

    def check_rate(self, key: str) -> None:
        now = self.clock()
        window = self._windows.setdefault(key, deque())
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self.rps_limit:
            self.rate_limited += 1
            raise OkError(8)
        window.append(now)

    def check_bot_token(self, token: str) -> None:
        if token in self.revoked:
            raise OkError(102)
        if token not in self.bot_tokens:
            raise OkError(103)

    async def fb_do(self, request: web.Request) -> web.Response:
        params: dict[str, str] = dict(request.query)
        if request.method == "POST":
            params.update({k: str(v) for k, v in (await request.post()).items()})
        try:
            body = self._call(params)
        except OkError as exc:
            return web.json_response(exc.body())
        return web.json_response(body)

    def _call(self, params: dict[str, str]) -> Any:
        secret_key = self.app_secrets.get(params.get("application_key", ""))
        if secret_key is None:
            raise OkError(101)
        if params.get("sig") != signature(params, secret_key):
            raise OkError(104)
        token = params.get("access_token", "")
        if token in self.revoked:
            raise OkError(102)
        if token not in self.tokens:
            raise OkError(103)
        handler = rest.METHODS.get(params.get("method", ""))
        if handler is None:
            raise OkError(3, f"Method {params.get('method', '')!s:.60} does not exist")
        self.check_rate(f"rest:{token}")
        if handler is rest.get_comments:
            return rest.get_comments(
                self, params, redeliver=self.faults.pick("getComments", {"duplicate"}) is not None
            )
        return handler(self, params)
