"""The case record the lifecycle works on, and its audit entries. The lead stores a record as a
row plus this JSON (`model_dump(mode="json")`); every field added later has a default, so older
records still load."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from regulation.deadlines import Deadlines, Importance, Milestones


class CaseState(StrEnum):
    IDENTIFIED = "identified"  # the curator has it (or the platform assigned it)
    ROUTED = "routed"  # with the executor(s)
    RETURNED = "returned"  # an executor said "not our competence": the curator re-routes
    DRAFTING = "drafting"  # the executor took it into work
    ON_APPROVAL = "on_approval"
    REVISION = "revision"  # sent back by the approver (or by the platform)
    APPROVED = "approved"  # waiting to be posted
    PUBLISHING = "publishing"  # a worker is posting it
    PUBLISHED = "published"  # the final answer is out
    FINAL_DUE = "final_due"  # an intermediate answer or a clarifying question is out: the final one is due
    AWAITING_FEEDBACK = "awaiting_feedback"  # the citizen may confirm, rate or dispute
    ACCEPTED = "accepted"  # confirmed, or silence for the regulated time
    CLOSED = "closed"  # not processed (not our competence, abusive, a repeat with nothing new …)


S = CaseState
TERMINAL = frozenset({S.ACCEPTED, S.CLOSED})
OPEN = frozenset(set(S) - TERMINAL)
DraftKind = Literal["answer", "intermediate", "clarify"]


class CoExecutor(BaseModel):
    department: str
    order: int = 0
    received_at: datetime | None = None  # sequential co-executors receive it one after another
    input_by: datetime | None = None
    delivered: bool = False
    delivered_at: datetime | None = None


class Extension(BaseModel):
    days: int
    comment: str
    requested_at: datetime
    granted: bool | None = None  # None while the request waits for the coordinator
    decided_at: datetime | None = None


class FeedbackEntry(BaseModel):
    kind: str
    at: datetime
    rating: int | None = None
    comment: str | None = None


class CaseRecord(BaseModel):
    state: CaseState = S.IDENTIFIED
    channel: str
    importance: Importance = "normal"
    fast_track: bool = False
    category: str | None = None  # ПОС: federal_fast_track | regional_fast_track | other
    executors: list[str] = Field(default_factory=list)  # as routed, in the curator's order
    responsible: str | None = None  # writes the joint answer (None: the curator does, 003 §12.4)
    coexecutors: list[CoExecutor] = Field(default_factory=list)
    deadlines: Deadlines
    milestones: Milestones = Field(default_factory=Milestones)
    platform_deadline: datetime | None = None
    shortened_to: datetime | None = None  # a shorter answer term set by the curator or the head
    final_by: datetime | None = None  # a final term agreed per message (002 §13, high importance)
    repeat_of: int | None = None  # the earlier case: the answer must report the measures taken
    repeat_decided: bool = False  # «Камчатка в порядке» §2.9: the executor decided whether it is a repeat
    draft_kind: DraftKind | None = None
    outcome: str | None = None  # решено / разъяснено (Кузбасс Онлайн) …
    contacted_author: bool = False  # 004 §2.4
    revisions: int = 0
    returns: list[dict[str, Any]] = Field(default_factory=list)
    extension: Extension | None = None  # the latest request
    extension_days_granted: int = 0
    published_url: str | None = None
    intermediate_at: datetime | None = None
    feedback: dict[str, Any] = Field(default_factory=dict)  # the latest reaction
    feedback_history: list[FeedbackEntry] = Field(default_factory=list)
    reopened: int = 0
    closed_reason: str | None = None
    forwarded_to: str | None = None  # closed as forwarded: the body it went to
    escalations_sent: list[str] = Field(default_factory=list)  # kept by the watcher

    @property
    def must_report_measures(self) -> bool:
        """An answer to a repeat must say what was done (000 §20, 001 §17, 002 §15, 003 §13)."""
        return self.repeat_of is not None


class CaseEvent(BaseModel):
    """One request to move a case: what to do, who asks, when, with what."""

    action: str
    actor_role: str
    at: datetime
    data: dict[str, Any] = Field(default_factory=dict)


class AuditEntry(BaseModel):
    action: str
    actor_role: str
    at: datetime
    from_state: CaseState
    to_state: CaseState
    data: dict[str, Any] = Field(default_factory=dict)
    clause: str | None = None  # the clause that allowed it (the approver's, a term's …)
    late: bool = False  # the step happened after its deadline
