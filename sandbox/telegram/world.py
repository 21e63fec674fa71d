"""The state of a simulated Telegram: chats, messages and the bot's queue of updates. No HTTP here.

Facts modelled (core.telegram.org/bots/api):
- message ids are counted per chat; our bot is a member of a residents' supergroup, an admin of the
  administration's channel and of the channel's linked discussion group from the start;
- an update is confirmed by a later getUpdates with a larger offset; a negative offset keeps only the
  last |offset| updates; unconfirmed updates are kept for 24 hours;
- `allowed_updates` persists between calls; by default every kind except chat_member and reactions;
- a channel post appears in the linked discussion group as an automatic forward from the service user
  777000 (`is_automatic_forward`, `sender_chat` = the channel); comments are group messages replying
  to that forward, in the thread (`message_thread_id`) rooted at it; in a supergroup any reply carries
  the `message_thread_id` of the chain it belongs to;
- edits arrive as `edited_message` / `edited_channel_post` with `edit_date`; deletions are never
  reported to bots; bots never receive their own messages (nor, in groups, other bots');
- with privacy mode on, a bot that is not a group admin sees only commands and replies to itself.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

TOKEN = "7000000001:AAH-demo-token-for-the-emulator-only"
BOT = {"id": 7000000001, "is_bot": True, "first_name": "Отклик", "username": "otklik_demo_bot"}
# getMe adds the bot's capabilities to the User object.
BOT_ME = {
    **BOT,
    "can_join_groups": True,
    "can_read_all_group_messages": True,
    "supports_inline_queries": False,
    "can_connect_to_business": False,
    "has_main_web_app": False,
}
GROUP = {
    "id": -1001000000001,
    "title": "Жители Северного района",
    "type": "supergroup",
    "username": "severny_chat",
}
CHANNEL = {
    "id": -1001000000002,
    "title": "Администрация Северного района",
    "type": "channel",
    "username": "severny_adm",
}
DISCUSSION = {"id": -1001000000003, "title": "Обсуждение новостей администрации", "type": "supergroup"}
SERVICE_USER = {"id": 777000, "is_bot": False, "first_name": "Telegram"}  # author of automatic forwards
RETENTION = 24 * 3600
DEFAULT_EXCLUDED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
CHAT_KINDS = ("private", "group", "channel_comment", "channel_post")


class UpdateQueue:
    """The bot's pending updates, oldest first, as (update_id, created_at, update)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.items: deque[tuple[int, float, dict]] = deque()
        self.next_update_id = 100_000
        self.allowed: list[str] | None = None  # None or []: the default set

    def allows(self, kind: str) -> bool:
        return kind in self.allowed if self.allowed else kind not in DEFAULT_EXCLUDED

    def push(self, kind: str, obj: dict) -> int | None:
        """Queue an update; None when the bot did not ask for this kind (Telegram keeps nothing)."""
        if not self.allows(kind):
            return None
        update_id = self.next_update_id
        self.next_update_id += 1
        self.items.append((update_id, self.clock(), {"update_id": update_id, kind: obj}))
        return update_id

    def expire(self) -> None:
        horizon = self.clock() - RETENTION
        while self.items and self.items[0][1] < horizon:
            self.items.popleft()

    def confirm(self, offset: int) -> None:
        """What getUpdates(offset) forgets before answering."""
        if offset < 0:
            while len(self.items) > -offset:
                self.items.popleft()
            return
        while self.items and self.items[0][0] < offset:
            self.items.popleft()

    def pending(self, limit: int = 100) -> list[dict]:
        self.expire()
        out = []
        for _, _, update in self.items:
            if len(out) >= limit:
                break
            if self.allows(next(k for k in update if k != "update_id")):
                out.append(update)
        return out

    def drop_all(self) -> None:
        self.items.clear()


def _inner(msg: dict) -> dict:
    """A message as embedded in `reply_to_message`: Telegram nests only one level."""
    return {k: v for k, v in msg.items() if k != "reply_to_message"}


class TelegramWorld:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.queue = UpdateQueue(clock)
        self.chats: dict[int, dict] = {c["id"]: c for c in (GROUP, CHANNEL, DISCUSSION)}
        self.messages: dict[tuple[int, int], dict] = {}
        self.blocked_chats: set[int] = set()  # users who blocked the bot / groups that removed it
        self.privacy_mode = False  # True: the bot is a plain member of GROUP, not an admin
        self.forwards: dict[int, dict] = {}  # channel post id -> its automatic forward in DISCUSSION
        self._next_mid: dict[int, int] = {}
        self._next_user = 500_000

    # -- building blocks -----------------------------------------------------------------------
    def new_message(
        self,
        chat: dict,
        sender: dict | None,
        text: str | None,
        *,
        reply_to: dict | None = None,
        photo: bool = False,
        **extra: Any,
    ) -> dict:
        mid = self._next_mid.get(chat["id"], 1)
        self._next_mid[chat["id"]] = mid + 1
        msg: dict[str, Any] = {"message_id": mid}
        if sender is not None:
            msg["from"] = sender
        msg.update({k: v for k, v in extra.items() if k == "sender_chat"})
        msg["chat"] = chat
        msg["date"] = int(self.clock())
        msg.update({k: v for k, v in extra.items() if k != "sender_chat"})
        if reply_to is not None:
            if chat["type"] == "supergroup":  # a reply chain in a supergroup is a thread
                msg["message_thread_id"] = reply_to.get("message_thread_id", reply_to["message_id"])
            msg["reply_to_message"] = _inner(reply_to)
        if photo:
            msg["photo"] = [
                {
                    "file_id": f"AgAC-{chat['id']}-{mid}-{size}",
                    "file_unique_id": f"AQAD{mid}{size}",
                    "file_size": size * 40,
                    "width": size,
                    "height": size * 3 // 4,
                }
                for size in (90, 320, 800)
            ]
            if text:
                msg["caption"] = text
        elif text is not None:
            msg["text"] = text
            if text.startswith("/"):  # Telegram marks a leading command as an entity
                msg["entities"] = [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}]
        self.chats[chat["id"]] = chat
        self.messages[(chat["id"], mid)] = msg
        return msg

    def citizen(self, payload: dict[str, Any]) -> dict:
        if "author_id" in payload:
            user_id = int(payload["author_id"])
        else:
            self._next_user += 1
            user_id = self._next_user
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": payload.get("author_name") or "Житель",
        }
        if payload.get("author_last_name"):
            user["last_name"] = payload["author_last_name"]
        if payload.get("author_username"):
            user["username"] = payload["author_username"]
        user["language_code"] = "ru"
        return user

    def private_chat(self, user: dict) -> dict:
        chat = {"id": user["id"], "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                chat[key] = user[key]
        chat["type"] = "private"
        return chat

    def bot_sees(self, msg: dict) -> bool:
        """Privacy mode: in GROUP the bot sees only commands and replies to its own messages."""
        if not self.privacy_mode or msg["chat"]["id"] != GROUP["id"]:
            return True
        target = msg.get("reply_to_message") or {}
        return (msg.get("text") or "").startswith("/") or (target.get("from") or {}).get("id") == BOT["id"]

    # -- what happens on the platform ------------------------------------------------------------
    def channel_post(self, text: str) -> tuple[dict, dict]:
        """The administration posts in its channel; the post is forwarded into the discussion group."""
        post = self.new_message(CHANNEL, None, text, sender_chat=CHANNEL)
        self.queue.push("channel_post", post)
        forward = self.new_message(
            DISCUSSION,
            SERVICE_USER,
            text,
            sender_chat=CHANNEL,
            forward_origin={
                "type": "channel",
                "chat": CHANNEL,
                "message_id": post["message_id"],
                "date": post["date"],
            },
            is_automatic_forward=True,
        )
        self.forwards[post["message_id"]] = forward
        self.queue.push("message", forward)
        return post, forward

    def post_to_comment(self, post_id: int | None) -> dict:
        """The automatic forward a comment replies to: of `post_id`, else of the latest post."""
        if post_id is not None:
            if int(post_id) not in self.forwards:
                raise KeyError(f"no channel post {post_id}")
            return self.forwards[int(post_id)]
        if not self.forwards:
            self.channel_post(
                "Начался ремонт дорог в Северном районе. Напишите в комментариях, где он нужен."
            )
        return self.forwards[max(self.forwards)]

    def inject(self, payload: dict[str, Any]) -> dict[str, Any]:
        kind = payload.get("kind", "new")
        if kind == "edit":
            return self.edit(int(payload["chat_id"]), int(payload["message_id"]), payload.get("text") or "")
        if kind == "delete":
            return self.delete(int(payload["chat_id"]), int(payload["message_id"]))
        where = payload.get("chat", "private")
        text = payload.get("text") or ""
        if where == "channel_post":
            post, forward = self.channel_post(text)
            return {
                "chat_id": CHANNEL["id"],
                "message_id": post["message_id"],
                "forward": {"chat_id": DISCUSSION["id"], "message_id": forward["message_id"]},
            }
        sender = self.citizen(payload)
        reply_to = None
        if where == "group":
            chat = GROUP
        elif where == "channel_comment":
            chat = DISCUSSION
            reply_to = self.post_to_comment(payload.get("post_id"))
        elif where == "private":
            chat = self.private_chat(sender)
        else:
            raise ValueError(f"chat must be one of {', '.join(CHAT_KINDS)}")
        if payload.get("reply_to_message_id"):
            reply_to = self.messages.get((chat["id"], int(payload["reply_to_message_id"])))
            if reply_to is None:
                raise KeyError("no such message to reply to")
        msg = self.new_message(chat, sender, text, reply_to=reply_to, photo=bool(payload.get("photo")))
        update_id = self.queue.push("message", msg) if self.bot_sees(msg) else None
        return {"update_id": update_id, "chat_id": chat["id"], "message_id": msg["message_id"]}

    def edit(self, chat_id: int, message_id: int, text: str) -> dict[str, Any]:
        msg = self.messages.get((chat_id, message_id))
        if msg is None:
            raise KeyError("no such message")
        field = "caption" if "photo" in msg else "text"
        edited = {**msg, field: text, "edit_date": int(self.clock())}
        self.messages[(chat_id, message_id)] = edited
        kind = "edited_channel_post" if msg["chat"]["type"] == "channel" else "edited_message"
        update_id = self.queue.push(kind, edited) if self.bot_sees(edited) else None
        return {"update_id": update_id, "chat_id": chat_id, "message_id": message_id}

    def delete(self, chat_id: int, message_id: int) -> dict[str, Any]:
        """Gone from the chat; the Bot API has no update for deletions, so the bot learns nothing."""
        if self.messages.pop((chat_id, message_id), None) is None:
            raise KeyError("no such message")
        return {"update_id": None, "chat_id": chat_id, "message_id": message_id, "delivered": False}

    def chat_by_ref(self, ref: Any) -> dict | None:
        """A chat by numeric id or by "@username", as sendMessage's chat_id takes it."""
        if isinstance(ref, str) and ref.startswith("@"):
            return next((c for c in self.chats.values() if c.get("username") == ref[1:]), None)
        try:
            return self.chats.get(int(ref))
        except (TypeError, ValueError):
            return None
