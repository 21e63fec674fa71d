"""The MAX world: citizens, their dialogs with the bot, a group chat and a channel (with posts and
comments) where the bot is an admin with read_all_messages, and the update log GET /updates serves.

Update log and marker (as dev.max.ru describes GET /updates): every update gets a sequence number;
the `marker` of an answer is the number of the next expected update, and passing a marker confirms
(forgets) everything before it. Without a marker the emulator serves everything not yet confirmed,
as the 2025 docs and third parties describe (the 2026 docs say "only the last update"; a connector
that always sends its stored marker does not care).
"""

from __future__ import annotations

import base64
import itertools
import random
from collections.abc import Callable
from typing import Any

TOKEN = "max-sandbox-token"
BOT = {"user_id": 9_000_001, "first_name": "Администрация", "last_name": None, "name": "Администрация",
       "username": "adm_sandbox_bot", "is_bot": True, "last_activity_time": 0}
GROUP = {"chat_id": -70_000_000_000_001, "type": "chat", "title": "Наш район"}
CHANNEL = {"chat_id": -70_000_000_000_002, "type": "channel", "title": "Администрация города", "link": "adm_city"}
ADMIN_PERMISSIONS = ["read_all_messages", "write", "edit", "delete", "post_edit_delete_message"]


class UpdateLog:
    def __init__(self) -> None:
        self.items: list[tuple[int, dict]] = []  # (sequence number, update), unconfirmed only
        self.next_seq = 1
        self.types: set[str] | None = None

    def push(self, update: dict) -> int:
        seq = self.next_seq
        self.next_seq += 1
        self.items.append((seq, update))
        return seq

    def confirm(self, marker: int) -> None:
        self.items = [(s, u) for s, u in self.items if s >= marker]

    def pending(self, limit: int, types: set[str] | None = None) -> tuple[list[dict], int]:
        """Up to `limit` unconfirmed updates (of `types`) and the marker that follows them."""
        out, last = [], None
        for seq, u in self.items:
            if len(out) >= limit:
                break
            last = seq
            if types is None or u["update_type"] in types:
                out.append(u)
        return out, (last + 1 if last is not None else self.next_seq)


class MaxWorld:
    def __init__(self, clock: Callable[[], float], seed: int = 0) -> None:
        self.clock = clock
        self.rng = random.Random(seed)  # ids and tokens: recording twice gives the same fixtures
        self.log = UpdateLog()
        self.users: dict[int, dict] = {}
        self.messages: dict[str, dict] = {}  # mid -> Message (dialogs, chat, channel posts)
        self.comments: dict[str, dict] = {}  # mid -> comment (recipient.post_id names its post)
        self.posts: list[str] = []  # the channel's posts, oldest first
        self.blocked_users: set[int] = set()  # citizens who stopped the bot
        self.not_admin: set[int] = set()  # chats where the bot lost its admin rights
        self._user_ids = itertools.count(100_001)

    def hex(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    def new_mid(self) -> str:
        return "mid." + self.hex(32)

    def ms(self) -> int:
        return int(self.clock() * 1000)

    def user(self, payload: dict) -> dict:
        uid = int(payload.get("author_id") or next(self._user_ids))
        if uid not in self.users:
            self.users[uid] = {"user_id": uid, "first_name": payload.get("author_name", "Житель"),
                               "last_name": payload.get("author_last_name", f"№{uid}"), "is_bot": False,
                               "last_activity_time": self.ms(), "name": payload.get("author_name", "Житель")}
        return self.users[uid]

    @staticmethod
    def dialog_id(user_id: int) -> int:
        return 50_000_000_000 + user_id  # dialogs have chat ids of their own, positive here

    def recipient(self, chat: str, user: dict | None) -> dict:
        if chat == "dialog":
            return {"chat_id": self.dialog_id(user["user_id"]), "chat_type": "dialog", "user_id": BOT["user_id"]}
        if chat == "chat":
            return {"chat_id": GROUP["chat_id"], "chat_type": "chat", "user_id": None}
        return {"chat_id": CHANNEL["chat_id"], "chat_type": "channel", "user_id": None}

    def message(self, recipient: dict, sender: dict | None, text: str, *, attachments: list | None = None,
                reply_to: dict | None = None) -> dict:
        mid = self.new_mid()
        seq = len(self.messages) + len(self.comments) + 1
        msg: dict[str, Any] = {
            "recipient": recipient,
            "timestamp": self.ms(),
            "body": {"mid": mid, "seq": seq, "text": text or None, "attachments": attachments or None},
        }
        if sender is not None:
            msg["sender"] = sender
        if reply_to is not None:
            msg["link"] = {"type": "reply", "sender": reply_to.get("sender"),
                           "chat_id": reply_to["recipient"].get("chat_id"),
                           "message": {k: reply_to["body"].get(k) for k in ("mid", "seq", "text")}}
        if recipient["chat_type"] == "channel" and "post_id" not in recipient:
            msg["stat"] = {"views": 0}
            msg["url"] = f"https://max.ru/{CHANNEL['link']}/" + base64.urlsafe_b64encode(
                seq.to_bytes(6, "big")).decode().rstrip("=")
        return msg

    def latest_post(self) -> dict:
        if self.posts and self.posts[-1] in self.messages:
            return self.messages[self.posts[-1]]
        post = self.message(self.recipient("channel", None), None, "Новости администрации")
        self.messages[post["body"]["mid"]] = post
        self.posts.append(post["body"]["mid"])
        self.log.push({"update_type": "message_created", "timestamp": post["timestamp"], "message": post})
        return post

    def find(self, mid: str) -> dict | None:
        return self.messages.get(mid) or self.comments.get(mid)

    def inject(self, payload: dict) -> dict:
        """See MaxEmulator.inject."""
        kind = payload.get("kind", "new")
        if kind in ("edit", "delete"):
            return self._change(kind, payload)
        chat = payload.get("chat", "dialog")
        if chat not in ("dialog", "chat", "channel_comment", "channel_post"):
            raise ValueError(f"unknown chat {chat!r}")
        attachments = self._attachments(payload)
        if chat == "channel_post":
            post = self.message(self.recipient("channel", None), None, payload.get("text", ""),
                                attachments=attachments)
            self.messages[post["body"]["mid"]] = post
            self.posts.append(post["body"]["mid"])
            self.log.push({"update_type": "message_created", "timestamp": post["timestamp"], "message": post})
            return {"mid": post["body"]["mid"], "chat_id": CHANNEL["chat_id"]}
        user = self.user(payload)
        reply_to = self.find(payload["reply_to"]) if payload.get("reply_to") else None
        if chat == "channel_comment":
            post = self.messages[payload["post_id"]] if payload.get("post_id") else self.latest_post()
            recipient = {**self.recipient("channel", None), "post_id": post["body"]["mid"]}
            sender = None if payload.get("anonymous") else user
            msg = self.message(recipient, sender, payload.get("text", ""), reply_to=reply_to)
            self.comments[msg["body"]["mid"]] = msg
            if not payload.get("missed"):  # missed: written while the bot was away, its update long gone
                self.log.push({"update_type": "comment_created", "timestamp": msg["timestamp"], "message": msg})
            return {"mid": msg["body"]["mid"], "chat_id": CHANNEL["chat_id"], "post_id": post["body"]["mid"],
                    "user_id": user["user_id"]}
        msg = self.message(self.recipient(chat, user), user, payload.get("text", ""),
                           attachments=attachments, reply_to=reply_to)
        self.messages[msg["body"]["mid"]] = msg
        update: dict[str, Any] = {"update_type": "message_created", "timestamp": msg["timestamp"], "message": msg}
        if chat == "dialog":
            update["user_locale"] = "ru"
        if payload.get("bodyless"):  # seen live for voice messages: the update carries no message
            update.pop("message")
        self.log.push(update)
        return {"mid": msg["body"]["mid"], "chat_id": msg["recipient"]["chat_id"], "user_id": user["user_id"]}

    def _attachments(self, payload: dict) -> list[dict]:
        out = []
        if payload.get("photo"):
            out.append({"type": "image", "payload": {"photo_id": int(self.ms()), "token": self.hex(16),
                                                     "url": "https://i.oneme.ru/i?r=" + self.hex(16)}})
        if payload.get("file"):
            out.append({"type": "file", "filename": "заявление.pdf", "size": 1024,
                        "payload": {"token": self.hex(16), "url": "https://fd.oneme.ru/" + self.hex(16)}})
        if payload.get("voice"):
            out.append({"type": "audio", "transcription": None,
                        "payload": {"token": self.hex(16), "url": "https://vd.oneme.ru/" + self.hex(16)}})
        return out

    def _change(self, kind: str, payload: dict) -> dict:
        mid = payload["mid"]
        msg = self.find(mid)
        if msg is None:
            raise KeyError(f"no message {mid}")
        is_comment = mid in self.comments
        if kind == "edit":
            msg["body"]["text"] = payload.get("text", "")
            msg["body"]["seq"] += 1
            self.log.push({"update_type": "comment_edited" if is_comment else "message_edited",
                           "timestamp": self.ms(), "message": msg})
        else:
            (self.comments if is_comment else self.messages).pop(mid)
            update = {"update_type": "comment_removed" if is_comment else "message_removed",
                      "timestamp": self.ms(), "message_id": mid, "chat_id": msg["recipient"]["chat_id"],
                      "user_id": (msg.get("sender") or {}).get("user_id")}
            if is_comment:
                update["post_id"] = msg["recipient"]["post_id"]
            self.log.push(update)
        return {"mid": mid, "chat_id": msg["recipient"]["chat_id"]}

    def service(self, update_type: str, **fields: Any) -> None:
        """A service update (bot_started, user_added, ...): nothing a connector should store."""
        self.log.push({"update_type": update_type, "timestamp": self.ms(), **fields})
