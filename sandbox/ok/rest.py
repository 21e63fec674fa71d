"""The REST methods of `/fb.do` the connector uses, with OK's paging by anchor.

Each handler takes the emulator and the request parameters and returns the JSON body, or raises
`OkError` (answered with HTTP 200 like the real API). Anchors are opaque to clients; here they are
base64 of the position they point at, so deleting a comment never shifts anybody's page.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from sandbox.ok.world import GROUP_ID, GROUP_NAME, Comment, Topic, group_wire

if TYPE_CHECKING:
    from sandbox.ok.emulator import OkEmulator

MAX_COUNT = 100
SPECIAL_ANCHORS = {"FIRST", "LAST", "UNREAD"}


class OkError(Exception):
    MESSAGES = {
        1: "UNKNOWN : Unknown error",
        2: "SERVICE : Service temporary unavailable",
        3: "METHOD : Method does not exist",
        8: "FLOOD_BLOCKED : Flood blocked",
        100: "PARAM : Invalid parameter",
        101: "PARAM_API_KEY : Application key is not specified or invalid",
        102: "PARAM_SESSION_EXPIRED : Session expired",
        103: "PARAM_SESSION_KEY : Invalid session key",
        104: "PARAM_SIGNATURE : Invalid signature",
        300: "NOT_FOUND : Object not found",
    }

    def __init__(self, code: int, detail: str | None = None) -> None:
        base = self.MESSAGES.get(code, "UNKNOWN : Unknown error")
        super().__init__(f"{base.split(' : ')[0]} : {detail}" if detail else base)
        self.code = code

    def body(self) -> dict[str, Any]:
        return {"error_data": None, "error_code": self.code, "error_msg": str(self)}


def encode_anchor(kind: str, value: int | str) -> str:
    return base64.b64encode(f"{kind}:{value}".encode()).decode()


def decode_anchor(anchor: str, kind: str) -> str:
    try:
        got_kind, _, value = base64.b64decode(anchor, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise OkError(100, f"Invalid anchor {anchor[:40]}") from None
    if got_kind != kind:
        raise OkError(100, f"Invalid anchor {anchor[:40]}")
    return value


def _count(params: dict[str, str], default: int) -> int:
    try:
        return max(1, min(MAX_COUNT, int(params.get("count") or default)))
    except ValueError:
        raise OkError(100, "count must be a number") from None


def _topic(
    emu: OkEmulator, params: dict[str, str], id_keys: tuple[str, ...], type_keys: tuple[str, ...]
) -> Topic:
    discussion_id = next((params[k] for k in id_keys if params.get(k)), None)
    discussion_type = next((params[k] for k in type_keys if params.get(k)), None)
    if not discussion_id or not discussion_type:
        raise OkError(100, f"Missing required parameter {id_keys[0]} or {type_keys[0]}")
    if discussion_type.upper() != "GROUP_TOPIC":
        raise OkError(100, f"Unsupported discussion type {discussion_type}")
    topic = emu.topics.get(discussion_id)
    if topic is None:
        raise OkError(300, f"Discussion {discussion_id} not found")
    return topic


def _entities(emu: OkEmulator, author_ids: list[str], with_group: bool) -> dict[str, Any]:
    users = [emu.users[uid].wire() for uid in dict.fromkeys(author_ids) if uid in emu.users]
    out: dict[str, Any] = {}
    if with_group:
        out["groups"] = [group_wire()]
    out["users"] = users
    return out


def get_topics(emu: OkEmulator, params: dict[str, str]) -> dict[str, Any]:
    """A group's topics, newest first; `anchor` continues towards older ones."""
    if params.get("gid") != GROUP_ID:
        raise OkError(100, "Invalid gid")
    count = _count(params, 10)
    ordered = sorted(emu.topics.values(), key=lambda t: (t.created_ms, t.id), reverse=True)
    start = 0
    if params.get("anchor"):
        after = decode_anchor(params["anchor"], "t")
        ids = [t.id for t in ordered]
        start = ids.index(after) + 1 if after in ids else len(ids)
    page = ordered[start : start + count]
    body: dict[str, Any] = {
        "media_topics": [t.mediatopic() for t in page],
        "entities": _entities(emu, [t.owner_uid for t in page if t.author_ref.startswith("user:")], True),
        "has_more": start + count < len(ordered),
    }
    if page:
        body["anchor"] = encode_anchor("t", page[-1].id)
    return body


def get_discussion(emu: OkEmulator, params: dict[str, str]) -> dict[str, Any]:
    topic = _topic(emu, params, ("discussionId",), ("discussionType",))
    users = [topic.owner_uid] if topic.author_ref.startswith("user:") else []
    entities = _entities(emu, users, True)
    entities = {
        "groups": entities["groups"],
        "themes": [{"id": topic.id, "title": topic.text}],
        "users": entities["users"],
    }
    return {"discussion": topic.discussion(), "entities": entities}


def get_comments(emu: OkEmulator, params: dict[str, str], redeliver: bool = False) -> dict[str, Any]:
    """Comments oldest first. FORWARD from an anchor gives the ones after it, BACKWARD the ones
    before it; the answer's anchor is the last comment in the direction of travel."""
    topic = _topic(emu, params, ("discussionId",), ("discussionType",))
    count = _count(params, 20)
    direction = (params.get("direction") or "").upper()
    anchor = params.get("anchor") or ""
    if not direction:
        direction = "BACKWARD" if anchor == "LAST" else "FORWARD"
    if direction not in ("FORWARD", "BACKWARD", "AROUND"):
        raise OkError(100, f"Invalid direction {direction}")
    if anchor in ("", "FIRST", "UNREAD"):
        pos = 0
    elif anchor == "LAST":
        pos = topic.next_seq
    else:
        value = decode_anchor(anchor, "c")
        if not value.isdigit():
            raise OkError(100, f"Invalid anchor {anchor[:40]}")
        pos = int(value)
    comments = topic.comments
    if direction == "BACKWARD":
        before = [c for c in comments if c.seq < pos]
        page = before[-count:]
        has_more = len(before) > len(page)
        edge: Comment | None = page[0] if page else None
    else:
        after = [c for c in comments if c.seq > pos]
        page = after[:count]
        has_more = len(after) > len(page)
        edge = page[-1] if page else None
        # The duplicate fault: items already served (at or before the anchor) come again.
        again = [c for c in comments if 0 < c.seq <= pos and emu.redeliver.pop(c.id, False)]
        if redeliver and pos:
            again += [c for c in comments if c.seq == pos and c not in again]
        page = again + page
    body: dict[str, Any] = {"comments": [c.wire() for c in page]}
    if edge is not None:
        body["anchor"] = encode_anchor("c", edge.seq)
    elif anchor not in ("", *SPECIAL_ANCHORS):
        body["anchor"] = anchor
    body["has_more"] = has_more
    body["entities"] = _entities(
        emu, [c.author_id for c in page if not c.by_group], any(c.by_group for c in page)
    )
    return body


def add_comment(emu: OkEmulator, params: dict[str, str]) -> str:
    """Accepts the current parameter names (entityId/entityType, official docs) and the older
    discussionId/discussionType. Returns the new comment's id as a JSON string."""
    topic = _topic(emu, params, ("entityId", "discussionId"), ("entityType", "discussionType"))
    text = params.get("comment") or ""
    if not text.strip():
        raise OkError(100, "Missing required parameter comment")
    reply_to = params.get("reply_to_comment_id") or None
    target = None
    if reply_to:
        target = next((c for c in topic.comments if c.id == reply_to), None)
        if target is None:
            raise OkError(300, f"Comment {reply_to} not found")
    as_admin = str(params.get("as_admin", "")).lower() == "true"
    author = GROUP_ID if as_admin else emu.admin_uid
    photos = [uploads.shown(p) for p in emu.uploads.comment_photos(params.get("attachments"))]
    comment = emu.add_comment(topic, author, text, by_group=as_admin, reply_to=target)
    comment.attachments = photos
    # `reply_to`: what the reply answers (the comment, else the topic), as every emulator records it.
    emu.record_reply(
        {
            "discussion_id": topic.id,
            "comment_id": comment.id,
            "reply_to_comment_id": reply_to,
            "reply_to": reply_to or topic.id,
            "text": text,
            "as_admin": as_admin,
            "attachments": photos,
        }
    )
    return comment.id


def get_upload_url(emu: OkEmulator, params: dict[str, str]) -> dict[str, Any]:
    """photosV2.getUploadUrl for the group (`gid`, optionally `aid`): reserves `count` photo ids."""
    uploads.check_group(params)
    try:
        count = int(params.get("count") or 1)
    except ValueError:
        raise OkError(100, "count must be a number") from None
    if not 1 <= count <= uploads.MAX_PHOTOS:
        raise OkError(100, f"count must be 1 to {uploads.MAX_PHOTOS}")
    return emu.uploads.slot(emu.base_url, count)


def group_info(emu: OkEmulator, params: dict[str, str]) -> list[dict[str, Any]]:
    uids = [u for u in (params.get("uids") or "").split(",") if u]
    if not uids:
        raise OkError(100, "Missing required parameter uids")
    return [{"uid": GROUP_ID, "name": GROUP_NAME}] if GROUP_ID in uids else []


from sandbox.ok import uploads  # noqa: E402 - uploads.py raises this module's OkError

METHODS = {
    "mediatopic.getTopics": get_topics,
    "discussions.get": get_discussion,
    "discussions.getComments": get_comments,
    "discussions.addDiscussionComment": add_comment,
    "group.getInfo": group_info,
    "photosV2.getUploadUrl": get_upload_url,
}
