"""Telegram payloads -> Message. Pure: no I/O, so every sample and cassette maps the same way.

A message id is unique only inside its chat, so our external id is `chat_id:message_id`.
Comments under a channel post are messages in the linked discussion group replying to the
automatic forward of the post; the forward itself (the administration's own post) is not a
citizen message, and neither is anything a bot (our own included) wrote.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.errors import Fatal
from otklik.models import Attachment, Author, EventKind, Message, Platform, Thread

KINDS = {"message": EventKind.NEW, "edited_message": EventKind.EDIT,
         "channel_post": EventKind.NEW, "edited_channel_post": EventKind.EDIT}
MEDIA = ("photo", "video", "document", "audio", "voice", "video_note", "sticker", "animation")


def _ts(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value), UTC)


def message_url(chat: dict, message_id: int) -> str | None:
    if chat.get("username"):
        return f"https://t.me/{chat['username']}/{message_id}"
    chat_id = str(chat.get("id", ""))
    if chat_id.startswith("-100"):  # a private supergroup or channel
        return f"https://t.me/c/{chat_id[4:]}/{message_id}"
    return None


def _author(msg: dict) -> Author:
    sender = msg.get("from")
    if sender:
        name = " ".join(p for p in (sender.get("first_name"), sender.get("last_name")) if p) or None
        url = f"https://t.me/{sender['username']}" if sender.get("username") else None
        return Author(id=str(sender["id"]), name=name, url=url, is_bot=bool(sender.get("is_bot")))
    chat = msg.get("sender_chat") or msg["chat"]  # channel posts and anonymous admins
    return Author(id=str(chat["id"]), name=chat.get("title"), url=message_url(chat, 0) and None, is_bot=False)


def _attachments(msg: dict) -> list[Attachment]:
    out = []
    for kind in MEDIA:
        item = msg.get(kind)
        if item is None:
            continue
        if isinstance(item, list):  # photo sizes: the largest is last
            item = item[-1] if item else {}
        out.append(Attachment(type=kind, id=item.get("file_id")))
    return out


def map_message(msg: dict, event: EventKind, source: str, bot_id: int | None = None) -> Message | None:
    """One Telegram Message object -> our Message, or None when it is not a citizen's."""
    if not isinstance(msg, dict) or "message_id" not in msg or "chat" not in msg:
        raise Fatal("not a Telegram message object", platform="telegram")
    sender = msg.get("from") or {}
    if sender.get("is_bot") or (bot_id is not None and sender.get("id") == bot_id):
        return None  # our own replies (and other bots) are never citizen messages
    if msg.get("is_automatic_forward"):
        return None  # the channel post mirrored into its discussion group
    text = msg.get("text") or msg.get("caption") or ""
    attachments = _attachments(msg)
    if not text and not attachments:
        return None  # service messages: joins, pins, title changes
    chat = msg["chat"]
    ids: dict[str, str | int] = {"chat_id": chat["id"], "message_id": msg["message_id"]}
    if msg.get("message_thread_id"):
        ids["message_thread_id"] = msg["message_thread_id"]
    reply_to = msg.get("reply_to_message")
    return Message(
        source=source, platform=Platform.TELEGRAM, external_id=f"{chat['id']}:{msg['message_id']}",
        thread=Thread(kind="chat", ids=ids), author=_author(msg), text=text, created_at=_ts(msg["date"]),
        url=message_url(chat, msg["message_id"]), attachments=attachments,
        reply_to=f"{reply_to['chat']['id']}:{reply_to['message_id']}" if reply_to and "chat" in reply_to else None,
        event=event, edited_at=_ts(msg["edit_date"]) if msg.get("edit_date") else None, raw=msg)


def map_update(update: dict, source: str, bot_id: int | None = None) -> list[Message]:
    for key, event in KINDS.items():
        if key in update:
            m = map_message(update[key], event, source, bot_id)
            return [m] if m else []
    return []  # callback queries, polls, chat member updates: not citizen messages


def bot_id_of(token: str) -> int | None:
    head = token.split(":", 1)[0]
    return int(head) if head.isdigit() else None
