"""What the OK emulator knows: one group with its topics, comments and chats, in the wire shapes of
the public samples (tests/connectors/ok/samples).

Facts reproduced from real captures:
- a comment id is base64 of `<created_ms>:-<n>:<created_ms>:<discussion_id>:1`;
- a comment `date` is "YYYY-MM-DD HH:MM:SS" in Moscow time (the sample's id says 08:53:02 UTC
  while its date says 12:53:02: Moscow was UTC+4 in 2014);
- a chat message `mid` is `mid:<chat>.<timestamp hex><4 hex>` and its `seq` is timestamp * 65536 + n.
Assumptions (no public capture): comments posted `as_admin` carry `author_type: "GROUP"` and the
group's id as `author_id`; the group's own chat messages have `sender.user_id = "group:<gid>"`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

MOSCOW = ZoneInfo("Europe/Moscow")
GROUP_ID = "70000000000001"
GROUP_NAME = "Администрация Северного района"
PIC = "https://i.mycdn.me/getImage?photoId={id}&photoType={kind}"


def ok_date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(MOSCOW).strftime("%Y-%m-%d %H:%M:%S")


def comment_id(created_ms: int, n: int, discussion_id: str) -> str:
    return base64.b64encode(f"{created_ms}:-{n}:{created_ms}:{discussion_id}:1".encode()).decode()


@dataclass
class User:
    uid: str
    first_name: str
    last_name: str
    gender: str = "female"

    def wire(self) -> dict[str, Any]:
        pics = {
            f"pic{size}": PIC.format(id=self.uid, kind=kind)
            for size, kind in (("128x128", 6), ("50x50", 4), ("640x480", 0))
        }
        return {
            "first_name": self.first_name,
            "gender": self.gender,
            "last_name": self.last_name,
            **pics,
            "uid": self.uid,
        }

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass
class Comment:
    seq: int  # position in its discussion, never reused: anchors point at it
    id: str
    author_id: str
    text: str
    created_ms: int
    by_group: bool = False
    reply_to_comment_id: str | None = None
    reply_to_id: str | None = None  # the author of the comment answered
    like_count: int = 0
    attachments: list[dict[str, Any]] = field(default_factory=list)  # photos posted with it (uploads.py)

    def wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"attrs": {"flags": "l,s"}, "author_id": self.author_id}
        if self.by_group:
            out["author_type"] = "GROUP"
        out |= {
            "date": ok_date(self.created_ms),
            "id": self.id,
            "like_count": self.like_count,
            "liked_it": False,
        }
        if self.reply_to_comment_id:
            out["reply_to_comment_id"] = self.reply_to_comment_id
            out["reply_to_id"] = self.reply_to_id
        out |= {"text": self.text, "type": "ACTIVE_MESSAGE"}
        if self.attachments:
            out["attachments"] = [{k: a[k] for k in ("type", "id", "url")} for a in self.attachments]
        return out


@dataclass
class Topic:
    id: str
    created_ms: int
    author_ref: str  # "group:<gid>" or "user:<uid>"
    text: str
    comments: list[Comment] = field(default_factory=list)
    next_seq: int = 1
    last_activity_ms: int = 0

    @property
    def owner_uid(self) -> str:
        return self.author_ref.split(":", 1)[1]

    def mediatopic(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_ms": self.created_ms,
            "author_ref": self.author_ref,
            "owner_ref": f"group:{GROUP_ID}",
            "media": [{"type": "text", "text": self.text}],
            "discussion_summary": {"comments_count": len(self.comments)},
        }

    def discussion(self) -> dict[str, Any]:
        created = ok_date(self.created_ms)
        return {
            "attrs": {"flags": "c,l,s"},
            "creation_date": created,
            "last_activity_date": ok_date(self.last_activity_ms or self.created_ms),
            "last_user_access_date": created,
            "like_count": 0,
            "liked_it": False,
            "message": f"Topic in the {{group:{GROUP_ID}}}{GROUP_NAME}{{group}} group",
            "new_comments_count": 0,
            "object_id": self.id,
            "object_type": "GROUP_TOPIC",
            "owner_uid": self.owner_uid,
            "ref_objects": [{"id": GROUP_ID, "type": "GROUP"}],
            "title": self.text,
            "total_comments_count": len(self.comments),
        }


def group_wire() -> dict[str, Any]:
    return {
        "main_photo": {
            f"pic{size}": PIC.format(id=GROUP_ID, kind=kind)
            for size, kind in (("128x128", 23), ("50x50", 4), ("640x480", 0))
        }
        | {"id": GROUP_ID},
        "name": GROUP_NAME,
        "uid": GROUP_ID,
    }


@dataclass
class ChatMessage:
    chat_id: str
    mid: str
    seq: int
    timestamp: int
    text: str
    sender_id: str  # "user:<uid>" or "group:<gid>"
    sender_name: str
    attachments: list[dict[str, Any]] = field(default_factory=list)

    def wire(self, *, with_name: bool = True) -> dict[str, Any]:
        """History items carry the sender's name; webhook bodies do not (official samples)."""
        sender = (
            {"name": self.sender_name, "user_id": self.sender_id}
            if with_name
            else {"user_id": self.sender_id}
        )
        message: dict[str, Any] = {"text": self.text, "seq": self.seq}
        if self.attachments:
            message["attachments"] = self.attachments
        message["mid"] = self.mid
        return {
            "sender": sender,
            "recipient": {"chat_id": self.chat_id},
            "message": message,
            "timestamp": self.timestamp,
        }


@dataclass
class Chat:
    chat_id: str
    title: str
    owner_id: str
    created_ms: int
    messages: list[ChatMessage] = field(default_factory=list)
    participants: dict[str, int] = field(default_factory=dict)
    counter: int = 0

    @property
    def last_event_time(self) -> int:
        return self.messages[-1].timestamp if self.messages else self.created_ms

    def wire(self) -> dict[str, Any]:
        return {
            "type": "GROUP_CHAT",
            "status": "ACTIVE",
            "title": self.title,
            "icon": {"url": "https://st.mycdn.me/res/i/ok_logo.png"},
            "participants": dict(self.participants),
            "lastEventTime": self.last_event_time,
            "chat_id": self.chat_id,
            "owner_id": self.owner_id,
            "group_id": f"group:{GROUP_ID}",
        }

    def new_message(
        self,
        ms: int,
        text: str,
        sender_id: str,
        sender_name: str,
        attachments: list[dict[str, Any]] | None = None,
    ) -> ChatMessage:
        self.counter += 1
        if self.messages:  # OK stamps a chat's messages in order, a millisecond apart at least
            ms = max(ms, self.messages[-1].timestamp + 1)
        code = self.chat_id.split(":", 1)[1]
        msg = ChatMessage(
            chat_id=self.chat_id,
            mid=f"mid:{code}.{ms:x}{self.counter:04x}",
            seq=ms * 65536 + self.counter,
            timestamp=ms,
            text=text,
            sender_id=sender_id,
            sender_name=sender_name,
            attachments=attachments or [],
        )
        self.messages.append(msg)
        if sender_id.startswith("user:"):
            self.participants[sender_id] = ms
        return msg
