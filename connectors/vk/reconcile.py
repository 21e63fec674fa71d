"""Re-reading over REST what the event stream may have lost (long poll `failed` 1 or 3) or what
happened before we started (backfill), one request per step.

The state lives in the cursor, so a reconciliation survives restarts and every page is committed
with its messages (the same rule as the event stream: store first, then move on). Stages:

  others   wall.get filter=others   citizens' posts since `since`; posts with comments are queued
  owner    wall.get filter=owner    the administration's posts: where most comments are
  comments wall.getComments         each queued post, threads inline (10), longer threads queued
  threads  wall.getComments comment_id=…
  topics   board.getTopics order=1  topics updated since `since`
  board    board.getComments sort=desc
  conversations messages.getConversations (community token)
  history  messages.getHistory      each conversation with a message since `since`

Wall and board reading needs a service or user token (VK refuses community tokens: error 27);
without one only private messages are reconciled. Re-reading is harmless: the store is keyed by
(source, external_id), so what we already had counts as a duplicate.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from connectors.errors import Malformed
from connectors.parsing import integer, map_each
from connectors.vk import mapping
from connectors.vk.client import VkClient
from otklik.models import Message, Rejected

WALL_PAGE = 100  # wall.get, wall.getComments, board.getTopics, board.getComments: at most 100 per call
STAGES = ("others", "owner", "comments", "threads", "topics", "board", "conversations", "history", "done")
REST_STAGES = frozenset(STAGES[:6])


class ReconcileState(BaseModel):
    since: int  # unix time: re-read what is at least this new
    posts_since: int  # posts this new are scanned for new comments (comments arrive on old posts too)
    stage: str = "others"
    offset: int = 0
    posts: list[tuple[int, int]] = Field(default_factory=list)  # (owner_id, post_id) still to read
    threads: list[tuple[int, int, int]] = Field(default_factory=list)  # (owner_id, post_id, comment_id)
    topics: list[int] = Field(default_factory=list)
    peers: list[int] = Field(default_factory=list)
    page: int = WALL_PAGE  # items per request (smaller in tests and recordings)
    requests: int = 0  # how many calls it took (reported in logs)

    @property
    def done(self) -> bool:
        return self.stage == "done"


def start(since: int, posts_since: int, *, has_rest: bool, page: int = WALL_PAGE) -> ReconcileState:
    return ReconcileState(
        since=since,
        posts_since=posts_since,
        stage="others" if has_rest else "conversations",
        page=min(page, WALL_PAGE),
    )


def _advance(state: ReconcileState, stage: str) -> None:
    state.stage = stage
    state.offset = 0


async def step(
    state: ReconcileState,
    *,
    rest: VkClient | None,
    community: VkClient,
    group_id: int,
    source: str,
    rejected: list[Rejected] | None = None,
) -> list[Message]:
    """Do one request of the reconciliation; returns the messages it found and moves `state` on.
    Items that cannot be read go to `rejected`; the reconciliation moves past them."""
    rejected = [] if rejected is None else rejected
    if state.stage in REST_STAGES and rest is None:
        _advance(state, "conversations")
    handler = _STEPS[state.stage]
    if state.stage != "done":
        state.requests += 1
    return await handler(state, rest, community, group_id, source, rejected)


async def _wall(
    state: ReconcileState, rest: Any, community: VkClient, gid: int, source: str,
    rejected: list[Rejected],
) -> list[Message]:
    others = state.stage == "others"
    resp = await rest.read(
        "wall.get",
        owner_id=-gid,
        filter="others" if others else "owner",
        count=state.page,
        offset=state.offset,
        extended=1,
    )
    items = _items(resp)
    profiles = mapping.Profiles(resp.get("profiles"), resp.get("groups"))
    fresh_seen = False

    def one(post: dict) -> Message | None:
        nonlocal fresh_seen
        date = integer(post.get("date", 0))
        key = (integer(post["owner_id"]), integer(post["id"]))
        m = None
        if others and date >= state.since:
            m = mapping.map_wall_post(post, source, group_id=gid, profiles=profiles)
        if not post.get("is_pinned"):  # a pinned post is first whatever its age
            fresh_seen = fresh_seen or date >= state.posts_since
        if (post.get("comments") or {}).get("count") and date >= state.posts_since and key not in state.posts:
            state.posts.append(key)
        return m

    out = map_each(items, one, platform="vk", rejected=rejected, id_of=_post_id)
    more = len(items) == state.page and fresh_seen and state.offset + state.page < _count(resp.get("count"))
    if more:
        state.offset += state.page
    else:
        _advance(state, "owner" if others else "comments")
    return out


def _comments(
    items: list[dict],
    state: ReconcileState,
    owner: int,
    post: int,
    gid: int,
    source: str,
    profiles: mapping.Profiles,
    rejected: list[Rejected],
    *,
    queue_threads: bool,
) -> list[Message]:

    def comment(item: dict) -> Message | None:
        if item.get("deleted") or integer(item.get("date", 0)) >= state.since:
            return mapping.map_wall_comment(
                item, source, group_id=gid, owner_id=owner, post_id=post, profiles=profiles
            )
        return None

    def with_thread(item: dict) -> list[Message]:
        got = comment(item)
        found = [got] if got is not None else []
        thread = item.get("thread") or {}
        inline = thread.get("items") or []
        if not isinstance(inline, list):
            raise TypeError("thread items are not a list")
        if queue_threads and integer(thread.get("count", 0)) > len(inline):
            key = (owner, post, integer(item["id"]))
            if key not in state.threads:
                state.threads.append(key)  # read in full later; skip the preview
            return found
        return found + map_each(inline, comment, platform="vk", rejected=rejected, id_of=_comment_id)

    return map_each(items, with_thread, platform="vk", rejected=rejected, id_of=_comment_id)


async def _post_comments(
    state: ReconcileState, rest: Any, community: VkClient, gid: int, source: str,
    rejected: list[Rejected],
) -> list[Message]:
    return await _comment_pages(state, rest, community, gid, source, rejected, thread=False)


async def _threads(
    state: ReconcileState, rest: Any, community: VkClient, gid: int, source: str,
    rejected: list[Rejected],
) -> list[Message]:
    return await _comment_pages(state, rest, community, gid, source, rejected, thread=True)


async def _comment_pages(
    state: ReconcileState,
    rest: Any,
    community: VkClient,
    gid: int,
    source: str,
    rejected: list[Rejected],
    *,
    thread: bool,
) -> list[Message]:
    """One page of a queued post's comments (long threads queued for later), or of one queued
    thread's replies (`thread`). Both queues move to their next stage when empty."""
    queue: list = state.threads if thread else state.posts
    if not queue:
        _advance(state, "topics" if thread else "threads")
        return await step(state, rest=rest, community=community, group_id=gid, source=source, rejected=rejected)
    owner, post, *root = queue[0]
    shape = (
        {"comment_id": root[0]} if thread else {"thread_items_count": min(10, state.page), "need_likes": 1}
    )
    resp = await rest.read(
        "wall.getComments",
        owner_id=owner,
        post_id=post,
        count=state.page,
        offset=state.offset,
        sort="asc",
        extended=1,
        **shape,
    )
    items = _items(resp)
    profiles = mapping.Profiles(resp.get("profiles"), resp.get("groups"))
    out = _comments(items, state, owner, post, gid, source, profiles, rejected, queue_threads=not thread)
    # A post's `count` includes the replies inside threads; its top level is `current_level_count`.
    level = _count(resp.get("count", 0) if thread else resp.get("current_level_count", resp.get("count", 0)))
    if items and state.offset + len(items) < level:
        state.offset += len(items)
    else:
        queue.pop(0)
        state.offset = 0
    return out


async def _topics(
    state: ReconcileState, rest: Any, community: VkClient, gid: int, source: str,
    rejected: list[Rejected],
) -> list[Message]:
    resp = await rest.read("board.getTopics", group_id=gid, order=1, count=state.page, offset=state.offset)
    items = _items(resp)
    fresh = map_each(
        items,
        lambda t: integer(t["id"]) if integer(t.get("updated", 0)) >= state.since else None,
        platform="vk",
        rejected=rejected,
        id_of=lambda t: t.get("id"),
    )
    state.topics += [t for t in fresh if t not in state.topics]
    if len(items) == state.page and len(fresh) == len(items):  # sorted by update, newest first
        state.offset += state.page
    else:
        _advance(state, "board")
    return []


async def _board(
    state: ReconcileState, rest: Any, community: VkClient, gid: int, source: str,
    rejected: list[Rejected],
) -> list[Message]:
    if not state.topics:
        _advance(state, "conversations")
        return await step(state, rest=rest, community=community, group_id=gid, source=source, rejected=rejected)
    topic = state.topics[0]
    resp = await rest.read(
        "board.getComments",
        group_id=gid,
        topic_id=topic,
        count=state.page,
        offset=state.offset,
        sort="desc",
        extended=1,
    )
    items = _items(resp)
    profiles = mapping.Profiles(resp.get("profiles"), resp.get("groups"))
    fresh = map_each(items, lambda c: c if integer(c.get("date", 0)) >= state.since else None,
                     platform="vk", rejected=rejected, id_of=lambda c: c.get("id"))
    out = map_each(
        fresh,
        lambda c: mapping.map_board_comment(
            c, source, group_id=gid, topic_owner_id=-gid, topic_id=topic, profiles=profiles
        ),
        platform="vk",
        rejected=rejected,
        id_of=lambda c: c.get("id"),
    )
    if len(items) == state.page and len(fresh) == len(items):
        state.offset += state.page
    else:
        state.topics.pop(0)
        state.offset = 0
    return out


async def _conversations(
    state: ReconcileState, rest: Any, community: VkClient, gid: int, source: str,
    rejected: list[Rejected],
) -> list[Message]:
    resp = await community.read(
        "messages.getConversations", group_id=gid, count=state.page * 2, offset=state.offset, filter="all"
    )
    items = _items(resp)
    fresh = map_each(
        items,
        lambda i: integer(i["conversation"]["peer"]["id"])
        if integer((i.get("last_message") or {}).get("date", 0)) >= state.since
        else None,
        platform="vk",
        rejected=rejected,
    )
    state.peers += [p for p in fresh if p not in state.peers]
    if len(items) == state.page * 2 and len(fresh) == len(items):  # newest conversations first
        state.offset += state.page * 2
    else:
        _advance(state, "history")
    return []


async def _history(
    state: ReconcileState, rest: Any, community: VkClient, gid: int, source: str,
    rejected: list[Rejected],
) -> list[Message]:
    if not state.peers:
        _advance(state, "done")
        return []
    peer = state.peers[0]
    resp = await community.read(
        "messages.getHistory", peer_id=peer, group_id=gid, count=state.page * 2, offset=state.offset
    )
    items = _items(resp)
    fresh = map_each(items, lambda i: i if integer(i.get("date", 0)) >= state.since else None,
                     platform="vk", rejected=rejected, id_of=lambda i: i.get("id"))
    out = map_each(fresh, lambda i: mapping.map_private_message(i, source, group_id=gid),
                   platform="vk", rejected=rejected, id_of=lambda i: i.get("id"))
    if len(items) == state.page * 2 and len(fresh) == len(items):  # newest first
        state.offset += state.page * 2
    else:
        state.peers.pop(0)
        state.offset = 0
    return out


async def _done(
    state: ReconcileState, rest: Any, community: VkClient, gid: int, source: str,
    rejected: list[Rejected],
) -> list[Message]:
    return []


def _items(resp: Any) -> list:
    """The `items` of a REST page (an answer without a list is not a page)."""
    items = resp.get("items") or []
    if not isinstance(items, list):
        raise Malformed("a VK page whose items are not a list", platform="vk")
    return items


def _count(value: Any) -> int:
    """A page's total count, which only decides whether to read on: unreadable means no more."""
    try:
        return integer(value or 0, lo=0)
    except (TypeError, ValueError):
        return 0


def _post_id(post: Any) -> str | None:
    return f"wall{post.get('owner_id')}_{post.get('id')}"


def _comment_id(comment: Any) -> Any:
    return comment.get("id")


_STEPS = {
    "others": _wall,
    "owner": _wall,
    "comments": _post_comments,
    "threads": _threads,
    "topics": _topics,
    "board": _board,
    "conversations": _conversations,
    "history": _history,
    "done": _done,
}
