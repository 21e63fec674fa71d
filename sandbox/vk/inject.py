"""Simulated citizens writing to the emulated community (`POST /_sandbox/inject`).

Payload: `text`, `author_id`, `author_name` ("Имя Фамилия"), `where`:
- `comment` — under a post (default: the administration's latest post; `post_id` to choose);
- `reply` — in the thread of a comment (`comment_id`; default: the latest citizen comment);
- `post` — a post on the community wall; `board` — in a board topic (`topic_id`);
- `message` — a private message to the community;
- `photo`, `video`, `market` — a comment under the community's photo, video or market item
  (`photo_id` / `video_id` / `item_id` to choose; default: the seeded one; `comment_id` to reply).
Without `where` a seeded mix is used (mostly comments, then messages). `attachments:
[{"type": "photo"}]` adds a photo. `kind: edit | delete | restore` changes what a `new` created:
pass back the ids it returned. VK tells the community nothing about deleted private messages or
edited wall posts, so those change the data without an event (`"event": null`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.vk.media import KEYS as MEDIA_KEYS
from sandbox.vk.world import BOARD_TOPIC_ID, GROUP_ID, VkApiError

if TYPE_CHECKING:
    from sandbox.vk.emulator import VkEmulator

MIX = (("comment", 0.5), ("message", 0.25), ("reply", 0.1), ("post", 0.08), ("board", 0.07))


def _photo(author: int, n: int) -> dict:
    return {
        "type": "photo",
        "photo": {
            "album_id": -3,
            "date": 0,
            "id": 457_000_000 + n,
            "owner_id": author,
            "access_key": f"{n:018x}",
            "sizes": [
                {
                    "height": 75,
                    "type": "s",
                    "url": f"https://sun9-1.userapi.com/impg/demo/{n}.jpg?size=100x75",
                    "width": 100,
                },
                {
                    "height": 480,
                    "type": "x",
                    "url": f"https://sun9-1.userapi.com/impg/demo/{n}.jpg?size=640x480",
                    "width": 640,
                },
            ],
            "text": "",
            "has_tags": False,
        },
    }


def _where(emulator: VkEmulator, payload: dict) -> str:
    if payload.get("where"):
        return str(payload["where"])
    kind = payload.get("kind", "new")
    if kind != "new":  # infer from the ids a `new` returned
        if "peer_id" in payload:
            return "message"
        if "topic_id" in payload:
            return "board"
        for kind, (id_key, _) in MEDIA_KEYS.items():
            if id_key in payload:
                return kind
        return "comment" if "comment_id" in payload else "post"
    roll, acc = emulator.rng.random(), 0.0
    for name, share in MIX:
        acc += share
        if roll < acc:
            return name
    return "comment"


def inject_event(emulator: VkEmulator, payload: dict[str, Any]) -> dict[str, Any]:
    world = emulator.world
    kind = payload.get("kind", "new")
    where = _where(emulator, payload)
    text = str(payload.get("text", ""))
    if kind != "new":
        return _change(emulator, kind, where, payload, text)
    author = int(payload.get("author_id") or 500_000 + emulator.next_id())
    world.person(author, payload.get("author_name"))
    atts = [
        _photo(author, emulator.next_id())
        for a in payload.get("attachments") or []
        if a.get("type") == "photo"
    ]
    if where == "message":
        msg, event = world.citizen_message(author, text, atts)
        return {
            "where": where,
            "id": f"msg{author}_{msg['conversation_message_id']}",
            "peer_id": author,
            "conversation_message_id": msg["conversation_message_id"],
            "message_id": msg["id"],
            "ts": emulator.push(event),
        }
    if where == "board":
        topic = int(payload.get("topic_id") or BOARD_TOPIC_ID)
        comment, event = world.add_board_comment(topic, author, text, atts)
        return {
            "where": where,
            "id": f"topic{-GROUP_ID}_{topic}_{comment['id']}",
            "topic_id": topic,
            "comment_id": comment["id"],
            "ts": emulator.push(event),
        }
    if where in MEDIA_KEYS:  # a comment under the community's photo, video or market item
        id_key = MEDIA_KEYS[where][0]
        obj = int(payload[id_key]) if payload.get(id_key) else None
        reply = int(payload["comment_id"]) if payload.get("comment_id") else None
        comment, event = emulator.media.add(where, obj, author, text, reply_to=reply, attachments=atts)
        return {
            "where": where,
            "id": f"{where}{comment['owner_id']}_{comment['object_id']}_{comment['id']}",
            "owner_id": comment["owner_id"],
            id_key: comment["object_id"],
            "comment_id": comment["id"],
            "ts": emulator.push(event),
        }
    if where == "post":
        post, event = world.citizen_post(author, text, atts)
        return {
            "where": where,
            "id": f"wall{-GROUP_ID}_{post['id']}",
            "owner_id": -GROUP_ID,
            "post_id": post["id"],
            "ts": emulator.push(event),
        }
    reply_to = None
    if where == "reply":
        target = (
            world.comments.get(int(payload["comment_id"]))
            if payload.get("comment_id")
            else world.latest_citizen_comment()
        )
        if target is None:
            where = "comment"  # nothing to answer yet: a plain comment
        else:
            reply_to, post_id = target["id"], target["post_id"]
    if reply_to is None:
        post_id = int(payload.get("post_id") or world.latest_admin_post()["id"])
    comment, event = world.add_comment(post_id, author, text, reply_to=reply_to, attachments=atts)
    return {
        "where": where,
        "id": f"wall{-GROUP_ID}_{post_id}_{comment['id']}",
        "owner_id": -GROUP_ID,
        "post_id": post_id,
        "comment_id": comment["id"],
        "ts": emulator.push(event),
    }


def _change(emulator: VkEmulator, kind: str, where: str, payload: dict, text: str) -> dict[str, Any]:
    world = emulator.world
    if kind not in ("edit", "delete", "restore"):
        raise VkApiError(100, f"unknown kind {kind!r}")
    if where == "message":
        peer, cmid = int(payload["peer_id"]), int(payload["conversation_message_id"])
        event = world.edit_message(peer, cmid, text) if kind == "edit" else world.delete_message(peer, cmid)
    elif where == "board":
        topic, cid = int(payload["topic_id"]), int(payload["comment_id"])
        event = (
            world.edit_board_comment(topic, cid, text)
            if kind == "edit"
            else world.delete_board_comment(topic, cid)
        )
    elif where in MEDIA_KEYS:
        cid, media = int(payload["comment_id"]), emulator.media
        if kind == "edit":
            event = media.edit(where, cid, text)
        elif kind == "delete":
            event = media.delete(where, cid, int(payload.get("author_id") or media.comments[where][cid]["from_id"]))
        else:
            event = media.restore(where, cid)
    elif where in ("comment", "reply"):
        cid = int(payload["comment_id"])
        if kind == "edit":
            event = world.edit_comment(cid, text)
        elif kind == "delete":
            event = world.delete_comment(cid, int(payload.get("author_id") or world.comments[cid]["from_id"]))
        else:
            event = world.restore_comment(cid)
    else:  # a wall post: VK's Bots API has no event for its edit or deletion
        post = world.posts.get(int(payload["post_id"]))
        if post is None:
            raise VkApiError(100, "post_id is invalid")
        if kind == "edit":
            post["text"] = text
        else:
            post["deleted"] = kind == "delete"
        event = None
    return {"kind": kind, "where": where, "event": event[0] if event else None, "ts": emulator.push(event)}
