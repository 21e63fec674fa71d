"""Polling the group's chats through the Bot API (when no webhook is used).

`/me/chats` says which chats moved (`lastEventTime`, OK's own clock); for those,
`/me/messages/<chat>` returns the messages between `to` and `from` (inclusive, newest first, at most
100), so we page backwards from `lastEventTime` to the stored timestamp. A backlog larger than one
poll's pages leaves a gap [t, g] in the cursor, read first on the next poll (at once: has_more), so
the cursor only ever moves past what was returned, and nothing in between is skipped.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from connectors.errors import Malformed
from connectors.ok.client import OkClient
from connectors.ok.cursor import ChatState, Cursor
from connectors.ok.mapping import map_chat_message
from connectors.parsing import UNREADABLE, integer, reject
from otklik.models import Message, Rejected

PAGE = 100
CHAT_ID = re.compile(r"[A-Za-z0-9:._-]{1,200}")  # "chat:C3e0000000010"
log = logging.getLogger("otklik.connectors.ok")


@dataclass
class ChatScan:
    messages: list[Message] = field(default_factory=list)
    chats: dict[str, ChatState] = field(default_factory=dict)
    has_more: bool = False


async def list_chats(client: OkClient, max_pages: int = 5) -> list[dict[str, Any]]:
    chats: list[dict[str, Any]] = []
    marker = None
    for _ in range(max_pages):
        body = await client.graph("GET", "chats", count=100, marker=marker)
        got = body.get("chats") or []
        if not isinstance(got, list):
            raise Malformed("the chat list is not a list", platform="ok")
        chats += [c for c in got if isinstance(c, dict)]
        marker = body.get("marker")
        if not marker:
            break
    return chats


async def scan(
    client: OkClient,
    cursor: Cursor,
    *,
    source: str,
    start_ms: int,
    max_pages: int = 10,
    only: list[str] | None = None,
    rejected: list[Rejected] | None = None,
) -> ChatScan:
    """New chat messages since `cursor.c`; a chat seen for the first time starts at `start_ms`."""
    out = ChatScan()
    rejected = [] if rejected is None else rejected
    for chat in await list_chats(client):
        chat_id = chat.get("chat_id") or ""
        if not isinstance(chat_id, str) or not CHAT_ID.fullmatch(chat_id):
            if chat_id:  # it goes into a URL path: anything but a plain id is set aside
                rejected.append(reject(chat, "a chat id that is not an id"))
            continue
        if only and chat_id not in only:
            continue
        state = cursor.c.get(chat_id) or ChatState(t=start_ms)
        last = _ts(chat.get("lastEventTime"))
        if last <= state.t and state.g is None and chat_id in cursor.c:
            out.chats[chat_id] = state
            continue
        out.chats[chat_id], complete = await _read_chat(
            client, chat_id, state, max(last, state.t), max_pages, source, out, rejected
        )
        out.has_more |= not complete
    return out


async def _read_range(
    client: OkClient, chat_id: str, lo: int, hi: int, max_pages: int
) -> tuple[list[dict[str, Any]], bool, int]:
    """Messages in [lo, hi], newest first; (items, reached lo, the oldest timestamp reached)."""
    items: list[dict[str, Any]] = []
    for _ in range(max_pages):
        page = (await client.graph("GET", f"messages/{chat_id}", to=lo, count=PAGE, **{"from": hi})).get(
            "messages"
        ) or []
        if not isinstance(page, list):
            raise Malformed("a chat's messages are not a list", platform="ok")
        items += page
        oldest = min((_ts(i) for i in page), default=lo)
        if len(page) < PAGE or oldest <= lo:
            return items, True, lo
        if oldest >= hi:  # a full page within one millisecond: the API cannot page further
            log.warning(
                "OK chat %s: more than %d messages share one timestamp; some may be missed", chat_id, PAGE
            )
            return items, True, lo
        hi = oldest  # inclusive: what shares the oldest millisecond comes again and is deduplicated
    return items, False, hi


def _ts(item: Any) -> int:
    """A chat item's (or a bare) millisecond timestamp; 0 when unreadable (such an item is set
    aside by `_emit`, and must not steer the paging)."""
    value = item.get("timestamp") if isinstance(item, dict) else item
    try:
        return integer(value or 0, lo=0)
    except (TypeError, ValueError):
        return 0


def _mid(item: Any) -> str:
    message = item.get("message") if isinstance(item, dict) else None
    mid = message.get("mid") if isinstance(message, dict) else None
    return mid if isinstance(mid, str) else str(mid) if isinstance(mid, int) else ""


def _mids_at(items: list[dict[str, Any]], ts: int) -> list[str]:
    return sorted({_mid(i) for i in items if _ts(i) == ts and _mid(i)})


def _emit(
    items: list[dict[str, Any]],
    state: ChatState,
    source: str,
    out: ChatScan,
    done_at: tuple[int, list[str]] | None = None,
    rejected: list[Rejected] | None = None,
) -> tuple[int, set[str]]:
    """Map the new items (not those at `done_at`'s timestamp with its mids: returned already);
    return the newest timestamp among them and the mids at it."""
    top, top_mids = state.t, set(state.m)
    seen: set[str] = set()
    for item in sorted(items, key=_ts):
        mid, ts = _mid(item), _ts(item)
        if not mid or not ts:
            if rejected is not None:
                rejected.append(reject(item, "a chat message without mid or timestamp"))
            continue
        if mid in seen or ts < state.t or (ts == state.t and mid in state.m):
            continue  # stored last time, or served twice
        if done_at is not None and ts == done_at[0] and mid in done_at[1]:
            continue
        seen.add(mid)
        if ts > top:
            top, top_mids = ts, set()
        if ts == top:
            top_mids.add(mid)
        try:
            m = map_chat_message(item, source=source)
        except (Malformed, *UNREADABLE) as exc:
            if rejected is not None:
                rejected.append(reject(item, str(exc) or type(exc).__name__, lambda i: _mid(i)))
            continue
        if m is not None:
            out.messages.append(m)
    return top, top_mids


async def _read_chat(
    client: OkClient,
    chat_id: str,
    state: ChatState,
    until: int,
    max_pages: int,
    source: str,
    out: ChatScan,
    rejected: list[Rejected] | None = None,
) -> tuple[ChatState, bool]:
    if state.g is not None:  # finish the gap left by the previous poll first
        items, done, reached = await _read_range(client, chat_id, state.t, state.g, max_pages)
        _emit(items, state, source, out, done_at=(state.g, state.gm), rejected=rejected)
        if not done:
            return state.model_copy(update={"g": reached, "gm": _mids_at(items, reached)}), False
        return ChatState(t=state.u, m=state.um), until <= state.u
    items, done, reached = await _read_range(client, chat_id, state.t, until, max_pages)
    top, top_mids = _emit(items, state, source, out, rejected=rejected)
    # Everything up to `until` (OK's clock) exists already: the cursor may move there even if the
    # chat moved for something that is not a message (a rename, a member joining).
    if until > top:
        top, top_mids = until, set()
    if done:
        return ChatState(t=top, m=sorted(top_mids)), True
    return ChatState(
        t=state.t, m=state.m, g=reached, gm=_mids_at(items, reached), u=top, um=sorted(top_mids)
    ), False
