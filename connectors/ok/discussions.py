"""Reading a group's topics and their comments incrementally, by anchor.

One poll: `mediatopic.getTopics` for the newest `topics_window` topics (one call for up to 100),
then `discussions.getComments` FORWARD from the stored anchor only for the topics whose
`comments_count` moved. OK never reports edits or deletions, so a topic whose count fell below what
we accounted for (or every `rescan_every` polls, if set) gets one cheap rescan of its latest
comments, compared with the few we remember (cursor.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from connectors.errors import Malformed
from connectors.ok.client import OkClient
from connectors.ok.cursor import Cursor, DiscussionState
from connectors.ok.mapping import (
    GROUP_TOPIC,
    comment_created,
    deleted_comment,
    is_own_comment,
    map_comment,
    map_mediatopic,
    text_hash,
    user_names,
)
from connectors.parsing import integer, map_each
from otklik.models import EventKind, Message, Rejected

TOPIC_FIELDS = "media_topic.*,user.first_name,user.last_name,group.name"


@dataclass
class ScanOptions:
    group_id: str
    source: str
    topics_window: int = 20
    page_size: int = 100
    max_pages: int = 5
    remember: int = 10
    rescan_every: int = 0
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Moscow"))


@dataclass
class ScanResult:
    messages: list[Message] = field(default_factory=list)
    discussions: dict[str, DiscussionState] = field(default_factory=dict)
    since: int = 0
    has_more: bool = False


async def recent_topics(client: OkClient, opts: ScanOptions) -> tuple[list[dict[str, Any]], dict[str, str]]:
    topics: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    anchor = None
    while len(topics) < opts.topics_window:
        body = await client.call(
            "mediatopic.getTopics",
            gid=opts.group_id,
            anchor=anchor,
            fields=TOPIC_FIELDS,
            count=min(100, opts.topics_window - len(topics)),
        )
        topics += _list(body.get("media_topics"))
        names |= user_names(body.get("entities"))
        anchor = body.get("anchor")
        if not body.get("has_more") or not anchor:
            break
    return topics, names


async def comments_page(
    client: OkClient, discussion_id: str, anchor: str, direction: str, count: int
) -> dict[str, Any]:
    return await client.call(
        "discussions.getComments",
        discussionId=discussion_id,
        discussionType=GROUP_TOPIC,
        anchor=anchor,
        direction=direction,
        count=count,
    )


def _comment_id(comment: Any) -> str:
    cid = comment["id"]
    if not isinstance(cid, str | int) or isinstance(cid, bool) or cid == "":
        raise TypeError("a comment id is not a string")
    return str(cid)


def _created_ms(comment: dict[str, Any], tz: ZoneInfo) -> int:
    return int(comment_created(comment, tz).timestamp() * 1000)


def _list(value: Any) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed("an OK answer whose list is not a list", platform="ok")
    return value


def _topic_id(topic: Any) -> str:
    tid = topic["id"]
    if not isinstance(tid, str | int) or isinstance(tid, bool):
        raise TypeError("a topic id is not a string")
    return str(tid)


async def scan(
    client: OkClient, cursor: Cursor, opts: ScanOptions, rejected: list[Rejected] | None = None
) -> ScanResult:
    """Everything new since `cursor`; `cursor` itself is not changed. Topics and comments that
    cannot be read go to `rejected` and are passed over."""
    rejected = [] if rejected is None else rejected
    topics, names = await recent_topics(client, opts)
    out = ScanResult(since=cursor.since)

    def topic_message(topic: dict) -> Message | None:
        _topic_id(topic)
        created = integer(topic.get("created_ms") or 0, lo=0)
        if created <= cursor.since:
            return None
        m = map_mediatopic(topic, source=opts.source, names=names, group_id=opts.group_id)
        if m is not None:
            out.since = max(out.since, created)
            if created >= cursor.h:  # older ones are history from before the first sync
                return m
        return None

    good: list[dict] = []
    out.messages += map_each(topics, lambda t: (topic_message(t), good.append(t))[0], platform="ok",
                             rejected=rejected, id_of=lambda t: f"topic:{t.get('id')}")
    rescan_due = bool(opts.rescan_every) and cursor.polls % opts.rescan_every == 0
    for topic in good:
        did = _topic_id(topic)
        state = cursor.d.get(did, DiscussionState())
        count = (topic.get("discussion_summary") or {}).get("comments_count")
        try:
            count = None if count is None else integer(count, lo=0, hi=2**31)
        except (TypeError, ValueError):
            count = None  # only decides whether to read the discussion: read it
        if count is not None and count == state.n and not (rescan_due and state.r):
            out.discussions[did] = state
            continue
        out.discussions[did] = await _read_discussion(
            client, did, state, count, cursor, opts, out, rescan_due, rejected
        )
    return out


async def _read_discussion(
    client: OkClient,
    did: str,
    state: DiscussionState,
    count: int | None,
    cursor: Cursor,
    opts: ScanOptions,
    out: ScanResult,
    rescan_due: bool,
    rejected: list[Rejected],
) -> DiscussionState:
    anchor, fetched, more = state.a, [], False
    names: dict[str, str] = {}
    for page in range(opts.max_pages):
        body = await comments_page(client, did, anchor, "FORWARD", opts.page_size)
        fetched += _list(body.get("comments"))
        names |= user_names(body.get("entities"))
        got = body.get("anchor")
        if got is not None and not isinstance(got, str):
            raise Malformed("discussions.getComments answered an anchor that is not a string", platform="ok")
        anchor = got or anchor
        more = bool(body.get("has_more"))
        if not more:
            break
        if page == opts.max_pages - 1:
            out.has_more = True  # the rest next poll, at once
    remembered = list(state.r)
    known = {cid for cid, _, _ in remembered}
    seen: set[str] = set()

    def one(c: dict) -> Message | None:
        cid = _comment_id(c)
        if cid in seen or cid in known:
            return None  # an item served twice (OK's duplicate delivery): its id says so
        seen.add(cid)
        if is_own_comment(c, opts.group_id):
            return None
        created = _created_ms(c, opts.tz)
        m = None
        if created >= cursor.h:  # older: history from before the first sync's horizon
            m = map_comment(
                c, source=opts.source, discussion_id=did, names=names, group_id=opts.group_id, tz=opts.tz
            )
        remembered.append((cid, text_hash(str(c.get("text") or "")), created))
        return m

    out.messages += map_each(fetched, one, platform="ok", rejected=rejected, id_of=lambda c: c.get("id"))
    new_state = DiscussionState(
        a=anchor,
        n=-1 if more else int(count if count is not None else -1),
        r=remembered[-opts.remember :] if opts.remember else [],
    )
    if count is not None and not more and state.n >= 0 and int(count) < state.n + len(seen):
        rescan_due = True  # fewer comments than we accounted for: something was deleted
    if rescan_due and new_state.r:
        new_state.r = await _rescan(client, did, new_state.r, opts, out)
    return new_state


async def _rescan(
    client: OkClient, did: str, remembered: list[tuple[str, str, int]], opts: ScanOptions, out: ScanResult
) -> list[tuple[str, str, int]]:
    """Compare the latest comments with the remembered ones: gone → DELETE, changed text → EDIT."""
    body = await comments_page(client, did, "LAST", "BACKWARD", 100)
    present: dict[str, dict] = {}
    unreadable = False  # then a missing comment may be that one: no deletion is concluded
    for c in _list(body.get("comments")):
        try:
            _created_ms(c, opts.tz)
            present[_comment_id(c)] = c
        except (LookupError, TypeError, ValueError, AttributeError, ArithmeticError):
            unreadable = True  # the fetch that met it first set it aside already
            continue
    oldest = min((_created_ms(c, opts.tz) for c in present.values()), default=None)
    covers_all = not body.get("has_more")
    names = user_names(body.get("entities"))
    now = datetime.now(UTC)
    kept = []
    for cid, digest, created in remembered:
        c = present.get(cid)
        if c is None:
            if not unreadable and (covers_all or (oldest is not None and created >= oldest)):
                out.messages.append(
                    deleted_comment(cid, source=opts.source, discussion_id=did, created_ms=created, at=now)
                )
                continue
            kept.append((cid, digest, created))  # older than the page we read: cannot tell
            continue
        new_digest = text_hash(str(c.get("text") or ""))
        if new_digest != digest:
            try:
                m = map_comment(
                    c,
                    source=opts.source,
                    discussion_id=did,
                    names=names,
                    group_id=opts.group_id,
                    tz=opts.tz,
                    event=EventKind.EDIT,
                    edited_at=now,
                )
            except Malformed:
                m = None  # an edit we cannot read: the stored text stays
            if m is not None:
                out.messages.append(m)
        kept.append((cid, new_digest, created))
    return kept
