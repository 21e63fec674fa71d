"""OK payloads -> Message. Pure: no I/O, so samples, cassettes and live answers map the same way.

- A comment's `date` is "YYYY-MM-DD HH:MM:SS" in Moscow time (a real capture's id carries the UTC
  milliseconds: 08:53:02 UTC against a date of 12:53:02, Moscow being UTC+4 in 2014).
- A comment id is base64 of `<ms>:-<n>:<ms>:<discussion_id>:1`; a bare comment (without the
  getComments call around it) gets its discussion from there.
- The group's own comments (`author_type: GROUP`, or the group's id as author) and the group's own
  chat messages (`user_id: group:<gid>`) are never citizen messages.
- A topic the group posted is the administration's own; a topic a member posted is a citizen's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from connectors.parsing import total, unix_ms
from otklik.models import Attachment, Author, EventKind, Message, Platform, Thread

MOSCOW = ZoneInfo("Europe/Moscow")
GROUP_TOPIC = "GROUP_TOPIC"
CHAT_ATTACHMENTS = {"IMAGE": "photo", "VIDEO": "video", "AUDIO": "audio", "SHARE": "link"}
_SPACES = re.compile(r"\s+")
_INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff]")


def parse_date(value: str, tz: ZoneInfo = MOSCOW) -> datetime:
    if not isinstance(value, str):
        raise TypeError("a date is not a string")
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=tz).astimezone(UTC)
    except OverflowError:  # 0001-01-01 00:00:00 Moscow time is before the first UTC instant
        raise ValueError("a date out of range") from None


def from_ms(ms: int | str) -> datetime:
    return unix_ms(ms)


def decode_comment_id(cid: str) -> tuple[int, str] | None:
    """(created ms, discussion id) from a comment id, when it has the known shape."""
    try:
        parts = base64.b64decode(cid + "=" * (-len(cid) % 4), validate=True).decode().split(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if len(parts) != 5 or not parts[0].isdigit() or not parts[3].isdigit():
        return None
    return int(parts[0]), parts[3]


def normalize_text(text: str) -> str:
    """What two copies of one reply share after OK has stored one of them."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    return _SPACES.sub(" ", text).strip().casefold()


def text_hash(text: str) -> str:
    return hashlib.sha1(normalize_text(text).encode()).hexdigest()[:10]


def profile_url(uid: str) -> str:
    return f"https://ok.ru/profile/{uid}"


def topic_url(group_id: str | None, topic_id: str) -> str | None:
    return f"https://ok.ru/group/{group_id}/topic/{topic_id}" if group_id else None


def user_names(entities: dict[str, Any] | None) -> dict[str, str]:
    """Names by user id; names are a nicety, so an unreadable entry is left out."""
    names: dict[str, str] = {}
    users = entities.get("users") if isinstance(entities, dict) else None
    for user in users if isinstance(users, list) else []:
        if not isinstance(user, dict):
            continue
        parts = [p for p in (user.get("name"), user.get("first_name"), user.get("last_name")) if isinstance(p, str)]
        name = user.get("name") if isinstance(user.get("name"), str) and user.get("name") else " ".join(parts[-2:])
        if user.get("uid") and name and isinstance(user["uid"], str | int):
            names[str(user["uid"])] = name
    return names


def is_own_comment(comment: dict[str, Any], group_id: str | None) -> bool:
    if str(comment.get("author_type", "")).upper() == "GROUP":
        return True
    return bool(group_id) and str(comment.get("author_id")) == str(group_id)


def _generic_attachments(items: Any) -> list[Attachment]:
    out = []
    for item in items or []:
        if isinstance(item, dict):
            kind = str(item.get("type") or "file").lower()
            out.append(
                Attachment(type=kind, id=str(item["id"]) if item.get("id") else None, url=item.get("url"))
            )
    return out


def comment_created(comment: dict[str, Any], tz: ZoneInfo = MOSCOW) -> datetime:
    if comment.get("date"):
        return parse_date(comment["date"], tz)
    decoded = decode_comment_id(str(comment.get("id", "")))
    if decoded:
        return from_ms(decoded[0])
    raise ValueError("a comment without date")


@total("ok")
def map_comment(
    comment: dict[str, Any],
    *,
    source: str,
    discussion_id: str | None = None,
    discussion_type: str = GROUP_TOPIC,
    names: dict[str, str] | None = None,
    group_id: str | None = None,
    tz: ZoneInfo = MOSCOW,
    event: EventKind = EventKind.NEW,
    edited_at: datetime | None = None,
) -> Message | None:
    """One comment of `discussions.getComments` -> Message, or None for the group's own."""
    if is_own_comment(comment, group_id):
        return None
    cid = str(comment["id"])
    if discussion_id is None:
        decoded = decode_comment_id(cid)
        discussion_id = decoded[1] if decoded else None
    author_id = str(comment.get("author_id", ""))
    ids: dict[str, str | int] = {"discussion_type": discussion_type, "comment_id": cid}
    if discussion_id:
        ids["discussion_id"] = discussion_id
    return Message(
        source=source,
        platform=Platform.OK,
        external_id=cid,
        thread=Thread(kind="discussion", ids=ids),
        author=Author(
            id=author_id, name=(names or {}).get(author_id), url=profile_url(author_id) if author_id else None
        ),
        text=str(comment.get("text") or ""),
        created_at=comment_created(comment, tz),
        url=topic_url(group_id, discussion_id) if discussion_id else None,
        attachments=_generic_attachments(comment.get("attachments")),
        reply_to=comment.get("reply_to_comment_id") or None,
        event=event,
        edited_at=edited_at,
        engagement=int(comment.get("like_count") or 0),
        raw=comment,
    )


@total("ok")
def deleted_comment(cid: str, *, source: str, discussion_id: str, created_ms: int, at: datetime) -> Message:
    """A comment gone from its discussion: storage marks the stored one deleted."""
    return Message(
        source=source,
        platform=Platform.OK,
        external_id=cid,
        thread=Thread(
            kind="discussion",
            ids={"discussion_id": discussion_id, "discussion_type": GROUP_TOPIC, "comment_id": cid},
        ),
        author=Author(id=""),
        created_at=from_ms(created_ms),
        event=EventKind.DELETE,
        edited_at=at,
    )


def _topic_message(
    *,
    source: str,
    topic_id: str,
    author_id: str,
    text: str,
    created_at: datetime,
    names: dict[str, str],
    group_id: str | None,
    attachments: list[Attachment],
    engagement: int,
    raw: dict[str, Any],
) -> Message:
    return Message(
        source=source,
        platform=Platform.OK,
        external_id=f"topic:{topic_id}",
        thread=Thread(kind="discussion", ids={"discussion_id": topic_id, "discussion_type": GROUP_TOPIC}),
        author=Author(id=author_id, name=names.get(author_id), url=profile_url(author_id)),
        text=text,
        created_at=created_at,
        url=topic_url(group_id, topic_id),
        attachments=attachments,
        engagement=engagement,
        raw=raw,
    )


@total("ok")
def map_mediatopic(
    topic: dict[str, Any], *, source: str, names: dict[str, str] | None = None, group_id: str | None = None
) -> Message | None:
    """A topic of `mediatopic.getTopics`: a citizen's message only when a member wrote it."""
    author_ref = str(topic.get("author_ref") or "")
    if not author_ref.startswith("user:"):
        return None
    texts, attachments = [], []
    for media in topic.get("media") or []:
        if media.get("type") == "text" and media.get("text"):
            texts.append(str(media["text"]))
        elif media.get("type") in ("photo", "video", "link", "music", "movie"):
            attachments.append(Attachment(type=str(media["type"]), url=media.get("url")))
    if group_id is None and str(topic.get("owner_ref", "")).startswith("group:"):
        group_id = str(topic["owner_ref"]).split(":", 1)[1]
    likes = (topic.get("like_summary") or {}).get("count") or 0
    return _topic_message(
        source=source,
        topic_id=str(topic["id"]),
        author_id=author_ref.split(":", 1)[1],
        text="\n".join(texts),
        created_at=from_ms(topic["created_ms"]),
        names=names or {},
        group_id=group_id,
        attachments=attachments,
        engagement=int(likes),
        raw=topic,
    )


@total("ok")
def map_discussion(
    body: dict[str, Any], *, source: str, group_id: str | None = None, tz: ZoneInfo = MOSCOW
) -> Message | None:
    """The answer of `discussions.get`: the topic itself, when a member (not a group) started it."""
    d = body["discussion"]
    owner = str(d.get("owner_uid") or "")
    groups = {str(g.get("uid")) for g in (body.get("entities") or {}).get("groups") or []}
    groups |= {str(r.get("id")) for r in d.get("ref_objects") or [] if r.get("type") == "GROUP"}
    if (
        not owner
        or owner in groups
        or owner == group_id
        or str(d.get("object_type", GROUP_TOPIC)) != GROUP_TOPIC
    ):
        return None
    ref_group = next((str(r["id"]) for r in d.get("ref_objects") or [] if r.get("type") == "GROUP"), None)
    return _topic_message(
        source=source,
        topic_id=str(d["object_id"]),
        author_id=owner,
        text=str(d.get("title") or ""),
        created_at=parse_date(d["creation_date"], tz),
        names=user_names(body.get("entities")),
        group_id=group_id or ref_group,
        attachments=[],
        engagement=int(d.get("like_count") or 0),
        raw=body,
    )


def is_own_chat_message(item: dict[str, Any]) -> bool:
    return str((item.get("sender") or {}).get("user_id", "")).startswith("group:")


@total("ok")
def map_chat_message(item: dict[str, Any], *, source: str) -> Message | None:
    """A Bot API message (history item or webhook body) -> Message; None for the group's own."""
    if is_own_chat_message(item):
        return None
    sender = item.get("sender") or {}
    message = item.get("message") or {}
    chat_id = str((item.get("recipient") or {}).get("chat_id") or "")
    text = str(message.get("text") or "")
    attachments = [
        Attachment(
            type=CHAT_ATTACHMENTS.get(str(a.get("type")), str(a.get("type", "file")).lower()),
            url=(a.get("payload") or {}).get("url"),
        )
        for a in message.get("attachments") or []
        if isinstance(a, dict)
    ]
    if not text and not attachments:
        return None  # chat events without content: renames, members joining
    uid = str(sender.get("user_id") or "").removeprefix("user:")
    mid = str(message["mid"])
    return Message(
        source=source,
        platform=Platform.OK,
        external_id=mid,
        thread=Thread(kind="chat", ids={"chat_id": chat_id, "message_id": mid}),
        author=Author(id=uid, name=sender.get("name"), url=profile_url(uid) if uid else None),
        text=text,
        created_at=from_ms(item["timestamp"]),
        attachments=attachments,
        raw=item,
    )
