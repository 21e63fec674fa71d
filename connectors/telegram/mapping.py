"""Telegram payloads -> Message. Pure: no I/O, so every sample, cassette and webhook maps the same way.

A message id is unique only inside its chat, so our external id is `chat_id:message_id`; an edit
keeps it. What is not a citizen's message and is skipped:
- anything a bot wrote (our own replies included; Telegram does not send a bot its own messages,
  but a webhook body or a file given to `otklik normalize` may hold one);
- channel posts and their automatic forwards into the discussion group: the administration's own
  posts (comments under them are citizens' messages, replying to the forward);
- messages sent on behalf of one of our own chats (`own_chat_ids`: an admin answering as the channel);
- service messages (joins, pins, title changes): no text, caption or media.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from connectors.errors import Malformed
from connectors.parsing import integer, total, unix_time
from otklik.models import Attachment, Author, EventKind, Message, Platform, Thread

CITIZEN_UPDATES = {"message": EventKind.NEW, "edited_message": EventKind.EDIT}
ADMINISTRATION_UPDATES = ("channel_post", "edited_channel_post")
# Service accounts that stand in `from` when a message is sent on behalf of a chat: Telegram
# (automatic forwards), GroupAnonymousBot (anonymous admins), Channel_Bot (posting as a channel).
CHAT_PROXIES = frozenset({777000, 1087968824, 136817688})
MEDIA = (
    "photo",
    "video",
    "document",
    "audio",
    "voice",
    "video_note",
    "sticker",
    "animation",
    "location",
    "contact",
)


def _ts(value: Any) -> datetime:
    return unix_time(value)


def message_url(chat: dict, message_id: int) -> str | None:
    if chat.get("type") in ("private", "group"):
        return None  # private chats and basic groups have no message links
    if chat.get("username"):
        return f"https://t.me/{chat['username']}/{message_id}"
    chat_id = str(chat.get("id", ""))
    if chat_id.startswith("-100"):  # a private supergroup or channel
        return f"https://t.me/c/{chat_id[4:]}/{message_id}"
    return None


def _author(msg: dict) -> Author:
    sender = msg.get("from") or {}
    chat = msg.get("sender_chat")
    if chat and (not sender or sender.get("id") in CHAT_PROXIES):
        # Sent on behalf of a chat (a citizen's own channel): the chat is the author.
        url = f"https://t.me/{chat['username']}" if chat.get("username") else None
        return Author(id=str(chat["id"]), name=chat.get("title"), url=url)
    if not sender:
        return Author(id=str(msg["chat"]["id"]), name=msg["chat"].get("title"))
    name = " ".join(p for p in (sender.get("first_name"), sender.get("last_name")) if p) or None
    url = f"https://t.me/{sender['username']}" if sender.get("username") else None
    return Author(id=str(sender["id"]), name=name, url=url, is_bot=bool(sender.get("is_bot")))


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


def is_citizens(msg: dict, bot_id: int | None = None, own_chat_ids: Collection[int] = ()) -> bool:
    if msg["chat"].get("type") == "channel" or msg.get("is_automatic_forward"):
        return False  # the administration's channel post, or its mirror in the discussion group
    sender = msg.get("from") or {}
    sender_chat = msg.get("sender_chat") or {}
    if sender_chat:
        # On behalf of a chat: our own channel, or the group itself (an anonymous admin), speaks
        # for the administration; a citizen may post as their own channel.
        return sender_chat.get("id") not in own_chat_ids and sender_chat.get("id") != msg["chat"].get("id")
    return not (sender.get("is_bot") or (bot_id is not None and sender.get("id") == bot_id))


@total("telegram")
def map_message(
    msg: dict, event: EventKind, source: str, bot_id: int | None = None, own_chat_ids: Collection[int] = ()
) -> Message | None:
    """One Telegram Message object -> our Message, or None when it is not a citizen's."""
    if (
        not isinstance(msg, dict)
        or "message_id" not in msg
        or not isinstance(msg.get("chat"), dict)
        or "date" not in msg
    ):
        raise Malformed("not a Telegram message object", platform="telegram")
    if not is_citizens(msg, bot_id, own_chat_ids):
        return None
    text = msg.get("text") or msg.get("caption") or ""
    attachments = _attachments(msg)
    if not text and not attachments:
        return None  # service messages: joins, pins, title changes
    chat = msg["chat"]
    ids: dict[str, str | int] = {"chat_id": integer(chat["id"]), "message_id": integer(msg["message_id"])}
    if msg.get("message_thread_id"):
        ids["message_thread_id"] = integer(msg["message_thread_id"])
    reply_to = msg.get("reply_to_message")
    reply_chat = (reply_to or {}).get("chat") or chat
    return Message(
        source=source,
        platform=Platform.TELEGRAM,
        external_id=f"{chat['id']}:{msg['message_id']}",
        thread=Thread(kind="chat", ids=ids),
        author=_author(msg),
        text=text,
        created_at=_ts(msg["date"]),
        url=message_url(chat, msg["message_id"]),
        attachments=attachments,
        reply_to=f"{reply_chat['id']}:{reply_to['message_id']}"
        if reply_to and "message_id" in reply_to
        else None,
        event=event,
        edited_at=_ts(msg["edit_date"]) if msg.get("edit_date") else None,
        raw=msg,
    )


def update_kind(update: dict) -> str | None:
    return next((k for k in update if k != "update_id"), None)


def update_id(update: Any) -> int:
    """The update's id (what the getUpdates offset counts); ValueError when it has none."""
    if not isinstance(update, dict):
        raise TypeError("not an update")
    return integer(update.get("update_id"), lo=0, hi=2**53)


@total("telegram")
def map_update(
    update: dict, source: str, bot_id: int | None = None, own_chat_ids: Collection[int] = ()
) -> list[Message]:
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        raise Malformed("not a Telegram update", platform="telegram")
    for key, event in CITIZEN_UPDATES.items():
        if key in update:
            m = map_message(update[key], event, source, bot_id, own_chat_ids)
            return [m] if m else []
    # Channel posts are the administration's own; callback queries, polls, member and reaction
    # updates are not citizens' messages either.
    return []


def own_chats_seen(update: Any) -> set[int]:
    """Chats that speak for the administration, learnt from an update: a channel whose post the
    bot saw, or whose post was forwarded automatically into its linked discussion group. What is
    not readable teaches nothing."""
    if not isinstance(update, dict):
        return set()
    try:
        for key in ADMINISTRATION_UPDATES:
            if key in update and isinstance(update[key], dict):
                return {integer(update[key]["chat"]["id"])}
        msg = update.get("message") or {}
        if msg.get("is_automatic_forward") and isinstance(msg.get("sender_chat"), dict):
            return {integer(msg["sender_chat"]["id"])}
    except (LookupError, TypeError, ValueError, AttributeError):
        pass
    return set()


def bot_id_of(token: str) -> int | None:
    head = token.split(":", 1)[0]
    return int(head) if head.isdigit() else None
