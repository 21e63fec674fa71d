"""What moderation says about a message: accept or drop, why, and where."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

REASONS = ("obscene", "insult", "threat", "harm_intent", "spam", "duplicate", "repeat_answered")


class Span(BaseModel):
    start: int  # offsets into the ORIGINAL text
    end: int
    text: str
    reason: str


class Verdict(BaseModel):
    decision: Literal["accept", "drop"]
    reasons: list[str] = Field(default_factory=list)
    spans: list[Span] = Field(default_factory=list)
    repeat_of: str | None = None  # the earlier message (duplicate, repeat_answered, accepted repeat)
