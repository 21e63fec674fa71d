"""MAX payloads -> Message. Pure: no I/O, so every fixture, webhook and `otklik normalize` maps the same way.

A message's `body.mid` ("mid.<hex>") is unique on the platform, so it is our external id; an edit
keeps it and a deletion names it (`message_id`). Where a reply goes is kept in the thread:

- `dialog`: user_id (+ chat_id) and mid — POST /messages?user_id= (a dialog's chat_id may be 0);
- `chat`: chat_id and mid — POST /messages?chat_id= with link {type: reply, mid};
- `comment`: chat_id (the channel), post_id (the post's mid) and mid — POST /messages/{post_id}/comments.

What is not a citizen's message and is skipped: channel posts (`message_created` in a channel, no
sender: the administration's own), anything a bot wrote (our replies in chats included), service
updates (bot_started, user_added, ...), unknown update types (new ones keep appearing), a
`message_created` without a message (seen for voice messages) and messages with neither text nor
attachments.
"""

from __future__ import annotations

from typing import Any

from connectors.errors import Malformed
from connectors.parsing import integer, total, unix_ms
from otklik.models import Attachment, Author, EventKind, Message, Platform, Thread

PLATFORM = "max"
MESSAGE_UPDATES = {"message_created": EventKind.NEW, "message_edited": EventKind.EDIT}
COMMENT_UPDATES = {"comment_created": EventKind.NEW, "comment_edited": EventKind.EDIT}
REMOVALS = ("message_removed", "comment_removed")
# What the connector asks GET /updates for (`types`); the rest is not a citizen's message.
UPDATE_TYPES = [*MESSAGE_UPDATES, *COMMENT_UPDATES, *REMOVALS]
# MAX attachment type -> ours; inline keyboards are our own buttons, not content.
ATTACHMENT_TYPES = {"image": "photo", "video": "video", "audio": "audio", "file": "file",
                    "sticker": "sticker", "contact": "contact", "share": "link", "location": "location"}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _mid(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise ValueError("not a message id")
    return value


def attachments(items: Any) -> list[Attachment]:
    out = []
    for item in items or []:
        kind = ATTACHMENT_TYPES.get(item.get("type"))
        if kind is None:
            continue
        payload = item.get("payload") or {}
        ident = payload.get("photo_id") or payload.get("token") or payload.get("code")
        out.append(Attachment(type=kind, url=_str(payload.get("url")),
                              id=str(ident) if ident is not None else None))
    return out


def _author(sender: dict | None, chat_id: Any) -> Author:
    if not sender:
        # A comment "on behalf of the channel" has no sender, and live reports show ordinary
        # users' comments without one too: kept, with the channel as the only author we know.
        return Author(id=f"chat:{chat_id}")
    name = " ".join(p for p in (_str(sender.get("first_name")), _str(sender.get("last_name"))) if p)
    name = name or _str(sender.get("name"))
    username = _str(sender.get("username"))
    return Author(id=str(integer(sender["user_id"])), name=name or None,
                  url=f"https://max.ru/{username}" if username else None, is_bot=bool(sender.get("is_bot")))


def _thread(recipient: dict, sender: dict | None, mid: str, post_id: str | None) -> Thread:
    chat_type = recipient.get("chat_type")
    chat_id = recipient.get("chat_id")
    if post_id is not None:
        return Thread(kind="comment", ids={"chat_id": integer(chat_id), "post_id": post_id, "mid": mid})
    if chat_type == "dialog":
        ids: dict[str, str | int] = {"mid": mid}
        user_id = (sender or {}).get("user_id", recipient.get("user_id"))
        if user_id is not None:
            ids["user_id"] = integer(user_id)
        if chat_id:
            ids["chat_id"] = integer(chat_id)
        if "user_id" not in ids and "chat_id" not in ids:
            raise ValueError("a dialog message without user_id or chat_id")
        return Thread(kind="dialog", ids=ids)
    return Thread(kind="chat", ids={"chat_id": integer(chat_id), "mid": mid})


def is_citizens(msg: dict, bot_user_id: int | None, comment: bool) -> bool:
    sender = msg.get("sender")
    if not sender:
        return comment  # a channel post (the administration's), unless it is a comment
    if sender.get("is_bot"):
        return False
    return bot_user_id is None or sender.get("user_id") != bot_user_id


@total(PLATFORM)
def map_message(msg: dict, event: EventKind, source: str, *, bot_user_id: int | None = None,
                edited_at: Any = None, comment: bool = False) -> Message | None:
    """One MAX Message object (or comment) -> our Message, or None when it is not a citizen's."""
    if not isinstance(msg, dict) or not isinstance(msg.get("recipient"), dict) or "timestamp" not in msg:
        raise Malformed("not a MAX message object", platform=PLATFORM)
    recipient = msg["recipient"]
    post_id = _str(recipient.get("post_id"))
    comment = comment or post_id is not None
    if recipient.get("chat_type") == "channel" and not comment:
        return None  # a post in the channel: the administration's own
    if not is_citizens(msg, bot_user_id, comment):
        return None
    link = msg.get("link") or {}
    body = msg.get("body")
    external_id = None
    if body is None and link.get("type") == "forward" and isinstance(link.get("message"), dict):
        # A message that only forwards another has no body of its own: its text is the forward's.
        body = link["message"]
        external_id = f"fwd:{recipient.get('chat_id')}:{integer(msg['timestamp'])}:{_mid(body.get('mid'))}"
    if not isinstance(body, dict):
        return None
    mid = _mid(body.get("mid")) if external_id is None else external_id
    text = body.get("text") or ""
    if not isinstance(text, str):
        raise TypeError("text is not a string")
    files = attachments(body.get("attachments"))
    if not text and not files:
        return None
    if comment and post_id is None:
        raise ValueError("a comment without recipient.post_id")
    sender = msg.get("sender")
    reply = link.get("message") if link.get("type") == "reply" else None
    return Message(
        source=source,
        platform=Platform.MAX,
        external_id=mid,
        thread=_thread(recipient, sender, mid, post_id),
        author=_author(sender, recipient.get("chat_id")),
        text=text,
        created_at=unix_ms(msg["timestamp"]),
        url=_str(msg.get("url")),
        attachments=files,
        reply_to=_mid(reply.get("mid")) if isinstance(reply, dict) and reply.get("mid") else None,
        event=event,
        edited_at=unix_ms(edited_at) if event == EventKind.EDIT and edited_at is not None else None,
        raw=msg,
    )


def _removal(update: dict, source: str) -> Message:
    mid = _mid(update.get("message_id"))
    post_id = _str(update.get("post_id"))
    ids: dict[str, str | int] = {"mid": mid}
    if update.get("chat_id") is not None:
        ids["chat_id"] = integer(update["chat_id"])
    if post_id:
        ids["post_id"] = post_id
    return Message(
        source=source,
        platform=Platform.MAX,
        external_id=mid,
        thread=Thread(kind="comment" if post_id else "chat", ids=ids),
        author=Author(id=str(integer(update["user_id"])) if update.get("user_id") is not None else "unknown"),
        created_at=unix_ms(update["timestamp"]),
        event=EventKind.DELETE,
        raw=update,
    )


@total(PLATFORM)
def map_update(update: dict, source: str, bot_user_id: int | None = None) -> list[Message]:
    if not isinstance(update, dict) or not isinstance(update.get("update_type"), str):
        raise Malformed("not a MAX update", platform=PLATFORM)
    kind = update["update_type"]
    if kind in MESSAGE_UPDATES or kind in COMMENT_UPDATES:
        msg = update.get("message")
        if msg is None:
            return []  # seen live for voice messages: nothing to store, nothing to fail on
        event = MESSAGE_UPDATES.get(kind) or COMMENT_UPDATES[kind]
        m = map_message(msg, event, source, bot_user_id=bot_user_id, edited_at=update.get("timestamp"),
                        comment=kind in COMMENT_UPDATES)
        return [m] if m else []
    if kind in REMOVALS:
        if kind == "comment_removed" and not _str(update.get("post_id")):
            raise ValueError("comment_removed without post_id")
        return [_removal(update, source)]
    return []  # bot_started, user_added, message_callback, ... and types not invented yet


def update_id(update: Any) -> str | None:
    """What names an update in Batch.rejected: the message's mid when there is one."""
    msg = update.get("message") if isinstance(update, dict) else None
    body = msg.get("body") if isinstance(msg, dict) else None
    if isinstance(body, dict) and body.get("mid"):
        return str(body["mid"])
    return update.get("message_id") if isinstance(update, dict) else None
