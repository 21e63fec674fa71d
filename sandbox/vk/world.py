"""The emulated community: its wall (posts and comments share one id sequence, as on VK), board
topics, private conversations, and the people who write. Every change returns the Bots API event
VK would send for it (type, object in the 5.199 shape), or None where VK sends none (a deleted
private message, an edited wall post). No HTTP here: emulator.py serves it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

GROUP_ID = 218_000_001
GROUP = {
    "id": GROUP_ID,
    "name": "Администрация Северного района",
    "screen_name": "severny_adm",
    "is_closed": 0,
    "type": "page",
    "is_admin": 0,
    "is_member": 0,
    "is_advertiser": 0,
    "photo_50": "https://sun9-1.userapi.com/s/v1/demo/severny_50.jpg",
    "photo_100": "https://sun9-1.userapi.com/s/v1/demo/severny_100.jpg",
    "photo_200": "https://sun9-1.userapi.com/s/v1/demo/severny_200.jpg",
}
ADMIN_USER_ID = 700_000_001  # the community admin whose user token the sandbox hands out
BOARD_TOPIC_ID = 40_000_001
CHAT_PEER_BASE = 2_000_000_000

Event = tuple[str, dict] | None


class VkApiError(Exception):
    """A method refused the request: becomes VK's error envelope."""

    def __init__(self, code: int, msg: str, **extra: Any) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.extra = extra


class World:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.users: dict[int, dict] = {
            ADMIN_USER_ID: {
                "id": ADMIN_USER_ID,
                "first_name": "Ольга",
                "last_name": "Админова",
                "can_access_closed": True,
                "is_closed": False,
            }
        }
        self.wall_seq = 0
        self.posts: dict[int, dict] = {}
        self.comments: dict[int, dict] = {}
        self.topics: dict[int, dict] = {}
        self.board: dict[int, list[dict]] = {}
        self.conversations: dict[int, dict] = {}  # peer_id -> {"messages": [...], "allowed": bool, ...}
        self.message_seq = 0
        self._seed()

    # -- setup -----------------------------------------------------------------------------------
    def now(self) -> int:
        return int(self.clock())

    def _seed(self) -> None:
        pinned = self.add_post(
            -GROUP_ID,
            "Здесь можно задать вопрос администрации района. Пишите в комментариях: адрес и суть проблемы.",
            date=self.now() - 30 * 86400,
        )
        pinned["is_pinned"] = 1
        self.add_post(-GROUP_ID, "Начался сезонный ремонт дорог. Напишите в комментариях, где нужен ремонт.")
        self.topics[BOARD_TOPIC_ID] = {
            "id": BOARD_TOPIC_ID,
            "title": "Вопросы к администрации",
            "created": self.now() - 60 * 86400,
            "created_by": -GROUP_ID,
            "updated": self.now() - 60 * 86400,
            "updated_by": -GROUP_ID,
            "is_closed": 0,
            "is_fixed": 1,
            "comments": 0,
        }
        self.board[BOARD_TOPIC_ID] = []

    def person(self, user_id: int, name: str | None = None) -> dict:
        if user_id not in self.users:
            first, _, last = (name or "Житель").partition(" ")
            self.users[user_id] = {
                "id": user_id,
                "first_name": first,
                "last_name": last or "",
                "can_access_closed": True,
                "is_closed": False,
            }
        return self.users[user_id]

    def profiles(self, ids: set[int]) -> tuple[list[dict], list[dict]]:
        people = [self.users[i] for i in sorted(ids) if i in self.users]
        groups = [GROUP] if -GROUP_ID in ids else []
        return people, groups

    # -- wall ------------------------------------------------------------------------------------
    def _next_wall_id(self) -> int:
        self.wall_seq += 1
        return self.wall_seq

    def add_post(
        self, from_id: int, text: str, *, date: int | None = None, attachments: list | None = None
    ) -> dict:
        pid = self._next_wall_id()
        post: dict[str, Any] = {
            "id": pid,
            "from_id": from_id,
            "owner_id": -GROUP_ID,
            "date": date or self.now(),
            "marked_as_ads": 0,
            "post_type": "post",
            "text": text,
            "can_edit": 1,
            "can_delete": 1,
            "comments": {"count": 0},
        }
        if from_id == -GROUP_ID:
            post["created_by"] = ADMIN_USER_ID
        if attachments:
            post["attachments"] = attachments
        self.posts[pid] = post
        return post

    def citizen_post(self, author: int, text: str, attachments: list | None = None) -> tuple[dict, Event]:
        post = self.add_post(author, text, attachments=attachments)
        post["can_edit"] = 0
        return post, ("wall_post_new", dict(post))

    def latest_admin_post(self) -> dict:
        own = [p for p in self.posts.values() if p["from_id"] == -GROUP_ID and not p.get("is_pinned")]
        return max(own, key=lambda p: p["id"])

    def add_comment(
        self,
        post_id: int,
        from_id: int,
        text: str,
        *,
        reply_to: int | None = None,
        attachments: list | None = None,
    ) -> tuple[dict, Event]:
        post = self.posts.get(post_id)
        if post is None or post.get("deleted"):
            raise VkApiError(
                100, "One of the parameters specified was missing or invalid: post_id is invalid"
            )
        parents: list[int] = []
        target = None
        if reply_to is not None:
            target = self.comments.get(reply_to)
            if target is None or target["post_id"] != post_id or target.get("deleted"):
                raise VkApiError(
                    100, "One of the parameters specified was missing or invalid: reply_to_comment is invalid"
                )
            # VK threads are two levels deep: a reply to a reply joins the root comment's thread.
            parents = [target["parents_stack"][0] if target["parents_stack"] else target["id"]]
        cid = self._next_wall_id()
        comment: dict[str, Any] = {
            "id": cid,
            "from_id": from_id,
            "post_id": post_id,
            "owner_id": post["owner_id"],
            "parents_stack": parents,
            "date": self.now(),
            "text": text,
            "thread": {"count": 0},
            "post_owner_id": post["owner_id"],
        }
        if target is not None:
            comment["reply_to_user"] = target["from_id"]
            comment["reply_to_comment"] = target["id"]
            self.comments[parents[0]]["thread"]["count"] += 1
        if attachments:
            comment["attachments"] = attachments
        self.comments[cid] = comment
        post["comments"]["count"] += 1
        return comment, ("wall_reply_new", _public_comment(comment))

    def edit_comment(self, cid: int, text: str) -> Event:
        comment = self._live_comment(cid)
        comment["text"] = text
        return "wall_reply_edit", _public_comment(comment)

    def delete_comment(self, cid: int, deleter_id: int) -> Event:
        comment = self._live_comment(cid)
        comment["deleted"] = True
        self.posts[comment["post_id"]]["comments"]["count"] -= 1
        return "wall_reply_delete", {
            "owner_id": comment["owner_id"],
            "id": cid,
            "deleter_id": deleter_id,
            "post_id": comment["post_id"],
            "user_id": comment["from_id"],
        }

    def restore_comment(self, cid: int) -> Event:
        comment = self.comments.get(cid)
        if comment is None or not comment.get("deleted"):
            raise VkApiError(
                100, "One of the parameters specified was missing or invalid: comment_id is invalid"
            )
        comment.pop("deleted")
        self.posts[comment["post_id"]]["comments"]["count"] += 1
        return "wall_reply_restore", _public_comment(comment)

    def _live_comment(self, cid: int) -> dict:
        comment = self.comments.get(cid)
        if comment is None or comment.get("deleted"):
            raise VkApiError(
                100, "One of the parameters specified was missing or invalid: comment_id is invalid"
            )
        return comment

    def latest_citizen_comment(self) -> dict | None:
        live = [c for c in self.comments.values() if c["from_id"] > 0 and not c.get("deleted")]
        return max(live, key=lambda c: c["id"]) if live else None

    # -- board -----------------------------------------------------------------------------------
    def add_board_comment(
        self, topic_id: int, from_id: int, text: str, attachments: list | None = None
    ) -> tuple[dict, Event]:
        topic = self.topics.get(topic_id)
        if topic is None:
            raise VkApiError(
                100, "One of the parameters specified was missing or invalid: topic_id is invalid"
            )
        if topic["is_closed"]:
            raise VkApiError(15, "Access denied: topic is closed")
        items = self.board[topic_id]
        comment: dict[str, Any] = {
            "id": (items[-1]["id"] + 1) if items else 1,
            "from_id": from_id,
            "date": self.now(),
            "text": text,
        }
        if attachments:
            comment["attachments"] = attachments
        items.append(comment)
        topic.update(comments=topic["comments"] + 1, updated=comment["date"], updated_by=from_id)
        return comment, ("board_post_new", self._board_object(topic_id, comment))

    def _board_object(self, topic_id: int, comment: dict) -> dict:
        return {
            **{k: v for k, v in comment.items() if k != "deleted"},
            "topic_owner_id": -GROUP_ID,
            "topic_id": topic_id,
        }

    def board_comment(self, topic_id: int, cid: int) -> dict:
        found = next(
            (c for c in self.board.get(topic_id, []) if c["id"] == cid and not c.get("deleted")), None
        )
        if found is None:
            raise VkApiError(
                100, "One of the parameters specified was missing or invalid: comment_id is invalid"
            )
        return found

    def edit_board_comment(self, topic_id: int, cid: int, text: str) -> Event:
        comment = self.board_comment(topic_id, cid)
        comment["text"] = text
        return "board_post_edit", self._board_object(topic_id, comment)

    def delete_board_comment(self, topic_id: int, cid: int) -> Event:
        comment = self.board_comment(topic_id, cid)
        comment["deleted"] = True
        self.topics[topic_id]["comments"] -= 1
        return "board_post_delete", {"topic_owner_id": -GROUP_ID, "topic_id": topic_id, "id": cid}

    # -- messages --------------------------------------------------------------------------------
    def conversation(self, peer_id: int) -> dict:
        return self.conversations.setdefault(
            peer_id, {"messages": [], "allowed": True, "cmid": 0, "in_read": 0, "out_read": 0}
        )

    def add_message(
        self,
        peer_id: int,
        from_id: int,
        text: str,
        *,
        out: int,
        random_id: int = 0,
        attachments: list | None = None,
        reply_cmid: int | None = None,
    ) -> dict:
        conv = self.conversation(peer_id)
        self.message_seq += 1
        conv["cmid"] += 1
        msg: dict[str, Any] = {
            "date": self.now(),
            "from_id": from_id,
            "id": self.message_seq,
            "out": out,
            "peer_id": peer_id,
            "text": text,
            "conversation_message_id": conv["cmid"],
            "fwd_messages": [],
            "important": False,
            "random_id": random_id,
            "attachments": attachments or [],
            "is_hidden": False,
        }
        if reply_cmid is not None:
            target = next((m for m in conv["messages"] if m["conversation_message_id"] == reply_cmid), None)
            if target is not None:
                msg["reply_message"] = {
                    k: target[k]
                    for k in (
                        "date",
                        "from_id",
                        "text",
                        "id",
                        "peer_id",
                        "conversation_message_id",
                        "attachments",
                    )
                }
        conv["messages"].append(msg)
        conv["out_read" if out else "in_read"] = msg["id"]
        return msg

    def citizen_message(self, author: int, text: str, attachments: list | None = None) -> tuple[dict, Event]:
        msg = self.add_message(author, author, text, out=0, attachments=attachments)
        client_info = {
            "button_actions": [
                "text",
                "vkpay",
                "open_app",
                "location",
                "open_link",
                "callback",
                "intent_subscribe",
                "intent_unsubscribe",
            ],
            "keyboard": True,
            "inline_keyboard": True,
            "carousel": True,
            "lang_id": 0,
        }
        return msg, ("message_new", {"message": dict(msg), "client_info": client_info})

    def find_message(self, peer_id: int, cmid: int) -> dict:
        conv = self.conversations.get(peer_id, {"messages": []})
        found = next((m for m in conv["messages"] if m["conversation_message_id"] == cmid), None)
        if found is None or found.get("deleted"):
            raise VkApiError(100, "One of the parameters specified was missing or invalid: message not found")
        return found

    def edit_message(self, peer_id: int, cmid: int, text: str) -> Event:
        msg = self.find_message(peer_id, cmid)
        msg.update(text=text, update_time=self.now())
        return "message_edit", dict(msg)

    def delete_message(self, peer_id: int, cmid: int) -> Event:
        msg = self.find_message(peer_id, cmid)
        msg["deleted"] = True
        return None  # the Bots API tells the community nothing about a deleted message


def _public_comment(comment: dict) -> dict:
    return {k: v for k, v in comment.items() if k != "deleted"}
