"""What a report is computed from: plain facts per case and per dropped message, read from storage
by `reports.queries` (the only module here that touches the database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)  # slots: 100,000 of them are made per quarter, faster and smaller
class CaseFacts:
    """Moments are POSIX seconds (floats, computed by the database): 100,000 cases × 6 moments
    compare and subtract far faster as numbers than as zone-aware datetimes."""

    id: int
    source: str
    topic_group: str | None
    topic: str | None
    state: str
    channel: str
    identified_at: float
    answer_by: float | None = None  # the answer's deadline (record.deadlines.answer_by, or shortened_to)
    routed_at: float | None = None
    submitted_at: float | None = None
    approved_at: float | None = None
    published_at: float | None = None
    intermediate_at: float | None = None
    outcome: str | None = None
    ratings: list[int] = field(default_factory=list)
    reopened: int = 0
    repeat_of: int | None = None
    engagement: int = 0
    places: list[str] = field(default_factory=list)
    departments: list[str] = field(default_factory=list)  # every department that had it
    drafts_returned: int = 0
    quality_flags: list[str] = field(default_factory=list)  # codes, one per flag on any draft
    photos: bool = False  # a posted answer carried photos


@dataclass
class DroppedFacts:
    message_id: int
    source: str
    at: datetime
    reasons: list[str]
    overruled: bool


@dataclass
class Facts:
    cases: list[CaseFacts]
    dropped: list[DroppedFacts] | None  # None: the caller may not see dropped messages
    previous: list[CaseFacts]  # the period of the same length just before, for the change
