"""VK's reading methods over the emulated community, in the 5.199 response shapes (compare the
samples in tests/connectors/vk/samples). Writes, which also touch deduplication, limits and the
event stream, live in emulator.py."""

from __future__ import annotations

from typing import Any

from sandbox.vk.world import GROUP, GROUP_ID, VkApiError, World


def _int(params: dict, key: str, default: int | None = None) -> int:
    raw = params.get(key)
    if raw in (None, ""):
        if default is None:
            raise VkApiError(
                100, f"One of the parameters specified was missing or invalid: {key} is undefined"
            )
        return default
    try:
        return int(raw)
    except ValueError:
        raise VkApiError(
            100, f"One of the parameters specified was missing or invalid: {key} not integer"
        ) from None


def _flag(params: dict, key: str) -> bool:
    return str(params.get(key, "0")).lower() in ("1", "true")


def _page(params: dict, default: int, maximum: int) -> tuple[int, int]:
    return max(0, _int(params, "offset", 0)), max(0, min(maximum, _int(params, "count", default)))


def _extend(world: World, response: dict, items: list[dict], params: dict, key: str = "from_id") -> dict:
    if _flag(params, "extended"):
        ids = {int(i[key]) for i in items if key in i}
        for i in items:
            ids |= {int(r["from_id"]) for r in (i.get("thread") or {}).get("items", []) if "from_id" in r}
        response["profiles"], response["groups"] = world.profiles(ids)
    return response


def groups_get_by_id(world: World, params: dict, caller: dict) -> dict:
    wanted = str(params.get("group_ids") or params.get("group_id") or "")
    ids = [w for w in wanted.split(",") if w] or ([str(GROUP_ID)] if caller["kind"] == "community" else [])
    if not ids:
        raise VkApiError(
            100, "One of the parameters specified was missing or invalid: group_ids is undefined"
        )
    if any(i not in (str(GROUP_ID), GROUP["screen_name"]) for i in ids):
        raise VkApiError(100, "One of the parameters specified was missing or invalid: group_ids is invalid")
    return {"groups": [dict(GROUP)], "profiles": []}


def users_get(world: World, params: dict, caller: dict) -> list[dict]:
    ids = [int(i) for i in str(params.get("user_ids") or params.get("user_id") or "").split(",") if i.strip()]
    if not ids and caller["kind"] == "user":
        ids = [caller["id"]]
    return [dict(world.users[i]) for i in ids if i in world.users]


def _wall_item(post: dict) -> dict:
    item = {k: v for k, v in post.items() if k != "deleted"}
    item["comments"] = {"count": post["comments"]["count"], "can_post": 1, "groups_can_post": True}
    item.update(
        likes={"count": 0, "user_likes": 0, "can_like": 1, "can_publish": 1},
        reposts={"count": 0, "user_reposted": 0},
        views={"count": 1 + post["comments"]["count"] * 3},
        post_source={"type": "vk"},
        is_favorite=False,
    )
    return item


def wall_get(world: World, params: dict, caller: dict) -> dict:
    owner = _int(params, "owner_id", 0)
    if owner != -GROUP_ID:
        return {"count": 0, "items": []}
    offset, count = _page(params, 20, 100)
    kind = params.get("filter", "all")
    posts = [p for p in world.posts.values() if not p.get("deleted")]
    if kind == "owner":
        posts = [p for p in posts if p["from_id"] == owner]
    elif kind == "others":
        posts = [p for p in posts if p["from_id"] != owner]
    elif kind not in ("all", ""):
        posts = []  # postponed, suggests, donut: none in the sandbox
    posts.sort(key=lambda p: (not p.get("is_pinned"), -p["date"], -p["id"]))
    items = [_wall_item(p) for p in posts[offset : offset + count]]
    return _extend(world, {"count": len(posts), "items": items}, items, params)


def _render_comment(world: World, c: dict, *, thread_items: int, likes: bool) -> dict:
    replies = [r for r in world.comments.values() if r["parents_stack"] == [c["id"]] and not r.get("deleted")]
    replies.sort(key=lambda r: r["id"])
    thread = {
        "count": len(replies),
        "items": [_render_comment(world, r, thread_items=0, likes=likes) for r in replies[:thread_items]]
        if not c["parents_stack"]
        else [],
        "can_post": True,
        "show_reply_button": True,
        "groups_can_post": True,
    }
    if c.get("deleted"):  # kept as a stub while its thread has replies, as VK shows it
        return {
            "id": c["id"],
            "parents_stack": c["parents_stack"],
            "date": c["date"],
            "thread": thread,
            "deleted": True,
        }
    item = {k: v for k, v in c.items() if k not in ("post_owner_id", "thread")}
    if not c["parents_stack"]:
        item["thread"] = thread
    if likes:
        item["likes"] = {"count": 0, "user_likes": 0, "can_like": 1, "can_publish": 1}
    return item


def wall_get_comments(world: World, params: dict, caller: dict) -> dict:
    owner, post_id = _int(params, "owner_id", 0), _int(params, "post_id")
    post = world.posts.get(post_id)
    if owner != -GROUP_ID or post is None or post.get("deleted"):
        raise VkApiError(100, "One of the parameters specified was missing or invalid: post_id is invalid")
    offset, count = _page(params, 10, 100)
    thread_items = max(0, min(10, _int(params, "thread_items_count", 0)))
    likes = _flag(params, "need_likes")
    root = params.get("comment_id")
    if root:
        parent = world.comments.get(int(root))
        if parent is None or parent["post_id"] != post_id or parent["parents_stack"]:
            raise VkApiError(
                100, "One of the parameters specified was missing or invalid: comment_id is invalid"
            )
        level = [
            c
            for c in world.comments.values()
            if c["parents_stack"] == [parent["id"]] and not c.get("deleted")
        ]
    else:
        level = [c for c in world.comments.values() if c["post_id"] == post_id and not c["parents_stack"]]
        level = [
            c
            for c in level
            if not c.get("deleted")
            or any(r["parents_stack"] == [c["id"]] and not r.get("deleted") for r in world.comments.values())
        ]
    level.sort(key=lambda c: c["id"], reverse=params.get("sort") == "desc")
    items = [
        _render_comment(world, c, thread_items=thread_items, likes=likes)
        for c in level[offset : offset + count]
    ]
    total = len(level) if root else post["comments"]["count"]
    response = {
        "count": total,
        "items": items,
        "current_level_count": len(level),
        "can_post": True,
        "show_reply_button": True,
        "groups_can_post": True,
    }
    return _extend(world, response, items, params)


def board_get_topics(world: World, params: dict, caller: dict) -> dict:
    if _int(params, "group_id") != GROUP_ID:
        raise VkApiError(15, "Access denied: no access to this group")
    offset, count = _page(params, 40, 100)
    order = _int(params, "order", 1)
    key = {1: "updated", -1: "updated", 2: "created", -2: "created"}.get(order, "updated")
    topics = sorted(world.topics.values(), key=lambda t: (t[key], t["id"]), reverse=order > 0)
    return {
        "count": len(topics),
        "items": [dict(t) for t in topics[offset : offset + count]],
        "default_order": 1,
        "can_add_topics": 0,
    }


def board_get_comments(world: World, params: dict, caller: dict) -> dict:
    if _int(params, "group_id") != GROUP_ID:
        raise VkApiError(15, "Access denied: no access to this group")
    topic = _int(params, "topic_id")
    if topic not in world.topics:
        raise VkApiError(100, "One of the parameters specified was missing or invalid: topic_id is invalid")
    offset, count = _page(params, 20, 100)
    live = [c for c in world.board[topic] if not c.get("deleted")]
    live.sort(key=lambda c: c["id"], reverse=params.get("sort") == "desc")
    items = []
    for c in live[offset : offset + count]:
        item = dict(c)
        if _flag(params, "need_likes"):
            item["likes"] = {"count": 0, "user_likes": 0, "can_like": 1}
        items.append(item)
    return _extend(world, {"count": len(live), "items": items, "real_offset": offset}, items, params)


def _community_scope(params: dict, caller: dict) -> bool:
    """A community token reads its own messages; a user token reads them only with group_id."""
    return caller["kind"] == "community" or str(params.get("group_id", "")) == str(GROUP_ID)


def messages_get_conversations(world: World, params: dict, caller: dict) -> dict:
    if not _community_scope(params, caller):
        return {"count": 0, "items": []}
    offset, count = _page(params, 20, 200)
    convs = []
    for peer, conv in world.conversations.items():
        live = [m for m in conv["messages"] if not m.get("deleted")]
        if not live:
            continue
        last = live[-1]
        convs.append(
            {
                "conversation": {
                    "peer": {
                        "id": peer,
                        "type": "chat" if peer >= 2_000_000_000 else "user",
                        "local_id": peer,
                    },
                    "in_read": conv["in_read"],
                    "out_read": conv["out_read"],
                    "last_message_id": last["id"],
                    "last_conversation_message_id": last["conversation_message_id"],
                    "can_write": {"allowed": conv["allowed"]}
                    if conv["allowed"]
                    else {"allowed": False, "reason": 901},
                    "push_settings": {"no_sound": False, "disabled_until": 0, "disabled_forever": False},
                },
                "last_message": {k: v for k, v in last.items() if k != "deleted"},
            }
        )
    convs.sort(key=lambda c: -c["last_message"]["id"])
    return {"count": len(convs), "items": convs[offset : offset + count]}


def messages_get_history(world: World, params: dict, caller: dict) -> dict:
    if not _community_scope(params, caller):
        return {"count": 0, "items": []}
    peer = _int(params, "peer_id", _int(params, "user_id", 0))
    offset, count = _page(params, 20, 200)
    conv = world.conversations.get(peer)
    live = [m for m in (conv or {"messages": []})["messages"] if not m.get("deleted")]
    if not _flag(params, "rev"):
        live = list(reversed(live))  # newest first, as VK answers by default
    return {"count": len(live), "items": [dict(m) for m in live[offset : offset + count]]}


READS: dict[str, Any] = {
    "groups.getById": groups_get_by_id,
    "users.get": users_get,
    "wall.get": wall_get,
    "wall.getComments": wall_get_comments,
    "board.getTopics": board_get_topics,
    "board.getComments": board_get_comments,
    "messages.getConversations": messages_get_conversations,
    "messages.getHistory": messages_get_history,
}
