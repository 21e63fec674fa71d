"""The OK source's cursor: one small JSON document, stored with the batch it ends (storage commits
both in one transaction, so an anchor never moves past comments that were not stored).

    {"v": 1, "h": <ms: comments older than this are history, not read as new>,
     "since": <created_ms of the newest citizen topic already returned>, "polls": <count>,
     "d": {"<discussion id>": {"a": "<anchor to continue FORWARD from>", "n": <comments_count seen>,
                               "r": [["<comment id>", "<text hash>", <created ms>], ...]}},
     "c": {"<chat id>": {"t": <all messages up to this timestamp stored>, "m": ["<mids at t>"]}}}

`r` remembers the last few citizen comments of a discussion, to notice their deletion or edit when
a cheap rescan is due (see connectors/ok/README.md).
"""

from __future__ import annotations

import json
import logging

from pydantic import BaseModel, Field, ValidationError

log = logging.getLogger("otklik.connectors.ok")


class DiscussionState(BaseModel):
    a: str = "FIRST"
    n: int = 0
    r: list[tuple[str, str, int]] = Field(default_factory=list)


class ChatState(BaseModel):
    t: int
    m: list[str] = Field(default_factory=list)
    # A backlog larger than one poll's pages: [t, g] is still unread but for the mids `gm` at g,
    # everything after g up to u (with the mids `um` at u) was returned already.
    g: int | None = None
    gm: list[str] = Field(default_factory=list)
    u: int = 0
    um: list[str] = Field(default_factory=list)


class Cursor(BaseModel):
    v: int = 1
    h: int = 0
    since: int = 0
    polls: int = 0
    d: dict[str, DiscussionState] = Field(default_factory=dict)
    c: dict[str, ChatState] = Field(default_factory=dict)

    @classmethod
    def load(cls, raw: str | None) -> Cursor | None:
        """None for a first sync. An unreadable cursor also starts over: every message is keyed by
        its id, so reading again costs requests, never duplicates."""
        if not raw:
            return None
        try:
            return cls.model_validate(json.loads(raw))
        except (ValueError, ValidationError):
            log.warning("unreadable OK cursor; starting a fresh sync")
            return None

    def dump(self) -> str:
        compact = {"v": self.v, **self.model_dump(exclude_defaults=True)}
        return json.dumps(compact, ensure_ascii=False, separators=(",", ":"))
