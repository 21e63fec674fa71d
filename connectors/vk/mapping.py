"""VK payloads -> Message. Pure: no I/O, so every sample, cassette and live event maps the same way.

External ids follow VK's own notation, so a person can paste them into a URL:
- a wall post:       `wall{owner_id}_{post_id}`            (https://vk.com/wall-1_2)
- a wall comment:    `wall{owner_id}_{post_id}_{comment_id}` (comment ids share the wall's numbering)
- a board comment:   `topic{owner_id}_{topic_id}_{comment_id}`
- a private message: `msg{peer_id}_{conversation_message_id}` (`id` is 0 in chats without admin rights)
- a comment under the community's photo, video or market item:
  `photo{owner_id}_{photo_id}_{comment_id}`, `video{owner_id}_{video_id}_{comment_id}`,
  `market{owner_id}_{item_id}_{comment_id}` (each object has its own comment numbering)
Edits keep the id; deletions arrive as `EventKind.DELETE` and restores (`*_restore`) as
`EventKind.RESTORE` with the same id.

What is a citizen message: something a person wrote to the community. Never: anything written by our
community (`from_id == -group_id`), our outgoing messages (`out == 1`, `message_reply`), posts by any
community (news and ads in search results), and VK's own service account (id 100, login codes).
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any

from connectors.parsing import total, unix_time
from otklik.models import Attachment, Author, EventKind, Message, Platform, Thread

VK_SERVICE_ACCOUNTS = frozenset({100})  # «Администрация ВКонтакте»: login codes, notices — not citizens
MEDIA_URL_KEYS = ("url", "player", "link")

EVENT_KINDS: dict[str, EventKind] = {
    "message_new": EventKind.NEW,
    "message_edit": EventKind.EDIT,
    "wall_post_new": EventKind.NEW,
    "wall_reply_new": EventKind.NEW,
    "wall_reply_edit": EventKind.EDIT,
    # A restored comment comes back with its text: the store un-deletes what it had.
    "wall_reply_restore": EventKind.RESTORE,
    "wall_reply_delete": EventKind.DELETE,
    "board_post_new": EventKind.NEW,
    "board_post_edit": EventKind.EDIT,
    "board_post_restore": EventKind.RESTORE,
    "board_post_delete": EventKind.DELETE,
}


class MediaKind:
    """What tells the comments under one kind of the community's objects apart (VK API 5.199)."""

    def __init__(self, kind: str, id_key: str, owner_key: str, method: str, url: str) -> None:
        self.kind = kind  # Thread.kind, the external id's prefix and the events' prefix
        self.id_key = id_key  # the object's id in events and in our thread ids
        self.owner_key = owner_key  # the object's owner in new/edit/restore events
        self.method = method  # where a reply goes
        self.url = url  # the object's page


MEDIA: dict[str, MediaKind] = {
    "photo": MediaKind("photo", "photo_id", "photo_owner_id", "photos.createComment", "https://vk.com/photo{o}_{i}"),
    "video": MediaKind("video", "video_id", "video_owner_id", "video.createComment", "https://vk.com/video{o}_{i}"),
    "market": MediaKind("market", "item_id", "market_owner_id", "market.createComment",
                        "https://vk.com/product{o}_{i}"),
}
for _m in MEDIA.values():
    EVENT_KINDS |= {
        f"{_m.kind}_comment_new": EventKind.NEW,
        f"{_m.kind}_comment_edit": EventKind.EDIT,
        f"{_m.kind}_comment_restore": EventKind.RESTORE,
        f"{_m.kind}_comment_delete": EventKind.DELETE,
    }


BR = re.compile(r"<br\s*/?>", re.I)
BOARD_MENTION = re.compile(r"^\[post(\d+)\|[^\]]*\],?\s*")  # "[post3|Иван], " opens a reply in a board


def clean_text(text: str | None) -> str:
    """VK escapes texts for HTML (`&quot;`, `&#10071;`, and `<br>` in old versions): give the plain text."""
    return html.unescape(BR.sub("\n", text)) if text else ""


def _ts(value: Any) -> datetime:
    return unix_time(value or 0)


def wall_post_id(owner_id: int, post_id: int) -> str:
    return f"wall{owner_id}_{post_id}"


def wall_comment_id(owner_id: int | None, post_id: int | None, comment_id: int) -> str:
    if owner_id is None or post_id is None:
        # Old responses and bare comment lists carry neither; the id is then only as unique as VK's
        # comment id, and the message cannot be answered (no post to answer under).
        return f"comment{comment_id}"
    return f"wall{owner_id}_{post_id}_{comment_id}"


def board_comment_id(owner_id: int, topic_id: int, comment_id: int) -> str:
    return f"topic{owner_id}_{topic_id}_{comment_id}"


def media_comment_id(kind: str, owner_id: int, object_id: int, comment_id: int) -> str:
    return f"{kind}{owner_id}_{object_id}_{comment_id}"


def message_id(peer_id: int, conversation_message_id: int) -> str:
    return f"msg{peer_id}_{conversation_message_id}"


def sent_message_id(peer_id: int, message_id: int) -> str:
    """What messages.send returns is the message id, not the per-conversation one: its own namespace."""
    return f"msg{peer_id}_out{message_id}"


def _by_id(entries: Any) -> dict[int, dict]:
    out: dict[int, dict] = {}
    for e in entries if isinstance(entries, list) else []:
        if isinstance(e, dict) and isinstance(e.get("id"), int) and not isinstance(e.get("id"), bool):
            out[e["id"]] = e
    return out


class Profiles:
    """Names from `profiles`/`groups` of an extended response (empty for events: VK sends ids only)."""

    def __init__(self, profiles: list[dict] | None = None, groups: list[dict] | None = None) -> None:
        # Names are a nicety: an unreadable entry is left out, not a reason to fail the page.
        self.people = _by_id(profiles)
        self.groups = _by_id(groups)

    def author(self, from_id: int) -> Author:
        if from_id < 0:
            group = self.groups.get(-from_id, {})
            screen = _str(group.get("screen_name")) or f"club{-from_id}"
            return Author(id=str(from_id), name=_str(group.get("name")), url=f"https://vk.com/{screen}")
        person = self.people.get(from_id, {})
        parts = (_str(person.get("first_name")), _str(person.get("last_name")))
        name = " ".join(p for p in parts if p) or None
        screen = _str(person.get("screen_name")) or f"id{from_id}"
        return Author(id=str(from_id), name=name, url=f"https://vk.com/{screen}")


NO_PROFILES = Profiles()


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _photo_url(photo: dict) -> str | None:
    sizes = photo.get("sizes") or []
    if sizes:
        best = max(sizes, key=lambda s: int(s.get("width") or 0) * int(s.get("height") or 0))
        return best.get("url")
    # Before 5.77 photos carried photo_75 … photo_2560 instead of `sizes`.
    legacy = [k for k in photo if k.startswith("photo_") and k[6:].isdigit()]
    return photo[max(legacy, key=lambda k: int(k[6:]))] if legacy else None


def attachments(items: list[dict] | None) -> list[Attachment]:
    out = []
    for item in items or []:
        kind = item.get("type", "unknown")
        body = item.get(kind) if isinstance(item.get(kind), dict) else {}
        url = (
            _photo_url(body)
            if kind == "photo"
            else next((body[k] for k in MEDIA_URL_KEYS if isinstance(body.get(k), str)), None)
        )
        ident = f"{kind}{body['owner_id']}_{body['id']}" if "owner_id" in body and "id" in body else None
        out.append(Attachment(type=kind, url=url, id=ident))
    return out


def _is_own(from_id: int, group_id: int | None) -> bool:
    return group_id is not None and from_id == -abs(group_id)


@total("vk")
def map_wall_post(
    post: dict,
    source: str,
    *,
    group_id: int | None = None,
    event: EventKind = EventKind.NEW,
    profiles: Profiles = NO_PROFILES,
) -> Message | None:
    from_id = int(post.get("from_id", post.get("owner_id", 0)))
    if from_id <= 0 or from_id in VK_SERVICE_ACCOUNTS:
        return None  # our own posts, other communities' news and ads: not a person writing to us
    if post.get("post_type") not in (None, "post", "suggest", "reply"):
        return None  # copies (reposts) and postponed posts
    text, atts = clean_text(post.get("text")), attachments(post.get("attachments"))
    if not text and not atts:
        return None
    owner_id, post_id = int(post["owner_id"]), int(post["id"])
    comments = (post.get("comments") or {}).get("count", 0)
    likes = (post.get("likes") or {}).get("count", 0)
    return Message(
        source=source,
        platform=Platform.VK,
        external_id=wall_post_id(owner_id, post_id),
        thread=Thread(kind="wall", ids={"owner_id": owner_id, "post_id": post_id}),
        author=profiles.author(from_id),
        text=text,
        created_at=_ts(post.get("date")),
        url=f"https://vk.com/wall{owner_id}_{post_id}",
        attachments=atts,
        event=event,
        engagement=int(comments) + int(likes),
        raw=post,
    )


@total("vk")
def map_wall_comment(
    comment: dict,
    source: str,
    *,
    group_id: int | None = None,
    owner_id: int | None = None,
    post_id: int | None = None,
    event: EventKind = EventKind.NEW,
    profiles: Profiles = NO_PROFILES,
) -> Message | None:
    """A comment object from an event or from wall.getComments; `owner_id`/`post_id` fill in what
    the object lacks (deleted items and old responses carry neither)."""
    owner = comment.get("owner_id", comment.get("post_owner_id", owner_id))
    post = comment.get("post_id", post_id)
    owner = int(owner) if owner is not None else None
    post = int(post) if post is not None else None
    cid = int(comment["id"])
    external = wall_comment_id(owner, post, cid)
    if comment.get("deleted"):
        if owner is None or post is None:
            return None  # nothing we could have stored under a known id
        return _deletion(
            source, external, "wall", {"owner_id": owner, "post_id": post, "comment_id": cid}, comment
        )
    from_id = int(comment.get("from_id", 0))
    if from_id == 0 or _is_own(from_id, group_id) or from_id in VK_SERVICE_ACCOUNTS:
        return None
    text, atts = clean_text(comment.get("text")), attachments(comment.get("attachments"))
    if not text and not atts:
        return None  # a sticker-only or emptied comment
    ids: dict[str, str | int] = {"comment_id": cid}
    url = None
    parents = comment.get("parents_stack") or []
    reply_to = None
    if owner is not None and post is not None:
        ids = {"owner_id": owner, "post_id": post, "comment_id": cid}
        url = f"https://vk.com/wall{owner}_{post}?reply={cid}" + (f"&thread={parents[0]}" if parents else "")
        parent = comment.get("reply_to_comment") or (parents[-1] if parents else None)
        reply_to = wall_comment_id(owner, post, int(parent)) if parent else wall_post_id(owner, post)
    thread_count = (comment.get("thread") or {}).get("count", 0)
    likes = (comment.get("likes") or {}).get("count", 0)
    return Message(
        source=source,
        platform=Platform.VK,
        external_id=external,
        thread=Thread(kind="wall", ids=ids),
        author=profiles.author(from_id),
        text=text,
        created_at=_ts(comment.get("date")),
        url=url,
        attachments=atts,
        reply_to=reply_to,
        event=event,
        engagement=int(thread_count) + int(likes),
        raw=comment,
    )


@total("vk")
def map_board_comment(
    comment: dict,
    source: str,
    *,
    group_id: int | None = None,
    topic_owner_id: int | None = None,
    topic_id: int | None = None,
    event: EventKind = EventKind.NEW,
    profiles: Profiles = NO_PROFILES,
) -> Message | None:
    owner = int(comment.get("topic_owner_id", topic_owner_id or 0))
    topic = int(comment.get("topic_id", topic_id or 0))
    cid = int(comment["id"])
    external = board_comment_id(owner, topic, cid)
    ids: dict[str, str | int] = {"group_id": -owner, "topic_id": topic, "comment_id": cid}
    if event == EventKind.DELETE or comment.get("deleted"):
        return _deletion(source, external, "board", ids, comment)
    from_id = int(comment.get("from_id", 0))
    if from_id == 0 or _is_own(from_id, group_id) or from_id == owner:
        return None  # the community's own answers in its board
    text, atts = clean_text(comment.get("text")), attachments(comment.get("attachments"))
    if not text and not atts:
        return None
    ids["from_id"] = from_id  # a board reply names the post it answers: "[post3|Имя], …", as VK's UI does
    return Message(
        source=source,
        platform=Platform.VK,
        external_id=external,
        thread=Thread(kind="board", ids=ids),
        author=profiles.author(from_id),
        text=text,
        created_at=_ts(comment.get("date")),
        url=f"https://vk.com/topic{owner}_{topic}?post={cid}",
        attachments=atts,
        event=event,
        engagement=int((comment.get("likes") or {}).get("count", 0)),
        raw=comment,
    )


@total("vk")
def map_media_comment(
    comment: dict,
    source: str,
    *,
    media: MediaKind,
    group_id: int | None = None,
    event: EventKind = EventKind.NEW,
) -> Message | None:
    """A `photo_comment_*`, `video_comment_*` or `market_comment_*` event object: a comment object
    plus the object's id (`photo_id`, `video_id`, `item_id`) and owner (`photo_owner_id`, …; the
    delete event names it `owner_id`)."""
    owner = int(comment[media.owner_key] if media.owner_key in comment else comment["owner_id"])
    obj, cid = int(comment[media.id_key]), int(comment["id"])
    external = media_comment_id(media.kind, owner, obj, cid)
    ids: dict[str, str | int] = {"owner_id": owner, media.id_key: obj, "comment_id": cid}
    if event == EventKind.DELETE:
        return _deletion(source, external, media.kind, ids, comment)
    from_id = int(comment.get("from_id", 0))
    if from_id == 0 or _is_own(from_id, group_id) or from_id in VK_SERVICE_ACCOUNTS:
        return None  # our own answers come back as events too
    text, atts = clean_text(comment.get("text")), attachments(comment.get("attachments"))
    if not text and not atts:
        return None
    parent = comment.get("reply_to_comment")
    reply_to = (
        media_comment_id(media.kind, owner, obj, int(parent)) if parent else f"{media.kind}{owner}_{obj}"
    )
    return Message(
        source=source,
        platform=Platform.VK,
        external_id=external,
        thread=Thread(kind=media.kind, ids=ids),
        author=NO_PROFILES.author(from_id),  # events carry ids only
        text=text,
        created_at=_ts(comment.get("date")),
        url=media.url.format(o=owner, i=obj),
        attachments=atts,
        reply_to=reply_to,
        event=event,
        engagement=int((comment.get("likes") or {}).get("count", 0)),
        raw=comment,
    )


@total("vk")
def map_private_message(
    msg: dict,
    source: str,
    *,
    group_id: int | None = None,
    event: EventKind = EventKind.NEW,
    profiles: Profiles = NO_PROFILES,
) -> Message | None:
    if int(msg.get("out", 0)) == 1:
        return None  # what we (or an operator in the VK interface) sent
    from_id = int(msg.get("from_id", 0))
    if from_id <= 0 or from_id in VK_SERVICE_ACCOUNTS or _is_own(from_id, group_id):
        return None  # other bots and communities in chats; VK's service notices
    text, atts = clean_text(msg.get("text")), attachments(msg.get("attachments"))
    if not text and not atts:
        return None  # service actions: chat joins, pins
    peer_id = int(msg.get("peer_id", from_id))
    cmid = int(msg.get("conversation_message_id") or 0)
    ids: dict[str, str | int] = {"peer_id": peer_id, "conversation_message_id": cmid}
    if msg.get("id"):
        ids["message_id"] = int(msg["id"])
    url = f"https://vk.com/gim{abs(group_id)}?sel={peer_id}" if group_id else None
    edited = msg.get("update_time")
    return Message(
        source=source,
        platform=Platform.VK,
        external_id=message_id(peer_id, cmid or int(msg.get("id", 0))),
        thread=Thread(kind="message", ids=ids),
        author=profiles.author(from_id),
        text=text,
        created_at=_ts(msg.get("date")),
        url=url,
        attachments=atts,
        event=event,
        edited_at=_ts(edited) if edited and event == EventKind.EDIT else None,
        raw=msg,
    )


def _deletion(source: str, external_id: str, kind: str, ids: dict, raw: dict) -> Message:
    return Message(
        source=source,
        platform=Platform.VK,
        external_id=external_id,
        thread=Thread(kind=kind, ids=ids),
        author=Author(id=str(raw.get("deleter_id", raw.get("user_id", "")))),
        created_at=_ts(raw.get("date")),
        event=EventKind.DELETE,
        raw=raw,
    )


@total("vk")
def map_event(update: dict, source: str, group_id: int | None = None) -> list[Message]:
    """One Bots Long Poll update or Callback API body -> 0 or 1 messages."""
    kind = update.get("type")
    obj = update.get("object")
    event = EVENT_KINDS.get(kind or "")
    if event is None or not isinstance(obj, dict):
        return []  # message_reply (ours), typing, likes, joins, confirmation, …
    group_id = group_id or update.get("group_id")
    group_id = int(group_id) if group_id else None
    if kind.startswith("message_"):
        # 5.103+ wraps the message with client_info for message_new; edits carry the bare message.
        msg = obj["message"] if isinstance(obj.get("message"), dict) else obj
        m = map_private_message(msg, source, group_id=group_id, event=event)
    elif kind == "wall_post_new":
        m = map_wall_post(obj, source, group_id=group_id, event=event)
    elif kind == "wall_reply_delete":
        owner, post, cid = int(obj["owner_id"]), int(obj["post_id"]), int(obj["id"])
        m = _deletion(
            source,
            wall_comment_id(owner, post, cid),
            "wall",
            {"owner_id": owner, "post_id": post, "comment_id": cid},
            obj,
        )
    elif kind.startswith("wall_reply_"):
        m = map_wall_comment(obj, source, group_id=group_id, event=event)
    elif kind.split("_comment_")[0] in MEDIA:
        media = MEDIA[kind.split("_comment_")[0]]
        m = map_media_comment(obj, source, media=media, group_id=group_id, event=event)
    else:
        m = map_board_comment(obj, source, group_id=group_id, event=event)
    return [m] if m else []


def _looks_like_post(item: dict) -> bool:
    return "post_type" in item


def _looks_like_message(item: dict) -> bool:
    return "peer_id" in item and ("conversation_message_id" in item or "out" in item)


def recognised(item: dict) -> bool:
    """Whether a bare object is one of VK's (a message, a post, a comment) at all."""
    return (
        _looks_like_message(item)
        or _looks_like_post(item)
        or ("id" in item and "date" in item and ("from_id" in item or item.get("deleted")))
    )


@total("vk")
def map_item(
    item: dict,
    source: str,
    *,
    group_id: int | None = None,
    context: dict | None = None,
    profiles: Profiles = NO_PROFILES,
) -> Message | None:
    """One object from a method response (or a bare event object), recognised by its fields.
    `context` names what the response was about: {"owner_id", "post_id"} for wall.getComments,
    {"topic_owner_id", "topic_id"} for board.getComments."""
    context = context or {}
    if _looks_like_message(item):
        return map_private_message(item, source, group_id=group_id, profiles=profiles)
    if _looks_like_post(item):
        return map_wall_post(item, source, group_id=group_id, profiles=profiles)
    if "topic_id" in context or "topic_id" in item:
        return map_board_comment(
            item,
            source,
            group_id=group_id,
            topic_owner_id=context.get("topic_owner_id"),
            topic_id=context.get("topic_id"),
            profiles=profiles,
        )
    for media in MEDIA.values():  # a bare photo/video/market comment event object
        if "id" in item and media.id_key in item and (media.owner_key in item or "owner_id" in item):
            return map_media_comment(item, source, media=media, group_id=group_id)
    if "id" in item and ("from_id" in item or item.get("deleted")):
        return map_wall_comment(
            item,
            source,
            group_id=group_id,
            owner_id=context.get("owner_id"),
            post_id=context.get("post_id"),
            profiles=profiles,
        )
    return None


@total("vk")
def map_response(
    response: Any, source: str, *, group_id: int | None = None, context: dict | None = None
) -> list[Message]:
    """The `response` of wall.get, wall.getComments (threads included), board.getComments,
    messages.getHistory / getConversations (their last messages), newsfeed.search. Anything else
    (ids returned by createComment/send, long poll server data) carries no citizen message."""
    if isinstance(response, list):
        items, profiles = response, NO_PROFILES
    elif isinstance(response, dict) and isinstance(response.get("items"), list):
        items = response["items"]
        profiles = Profiles(response.get("profiles"), response.get("groups"))
    else:
        return []
    out: list[Message] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if isinstance(
            item.get("last_message"), dict
        ):  # getConversations: a conversation with its last message
            item = item["last_message"]
        m = map_item(item, source, group_id=group_id, context=context, profiles=profiles)
        if m is not None:
            out.append(m)
        for reply in (item.get("thread") or {}).get("items") or []:  # replies shown inline in a thread
            ctx = {
                "owner_id": item.get("owner_id", (context or {}).get("owner_id")),
                "post_id": item.get("post_id", (context or {}).get("post_id")),
            }
            r = map_wall_comment(
                reply,
                source,
                group_id=group_id,
                owner_id=ctx["owner_id"],
                post_id=ctx["post_id"],
                profiles=profiles,
            )
            if r is not None:
                out.append(r)
    return out
