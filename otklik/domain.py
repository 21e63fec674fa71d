"""Every domain shape in one place (DESIGN.md, "Contracts"). Each lives beside the code that
produces it; this module only gathers them for readers and for the API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from moderation.verdict import Span, Verdict
from otklik.models import Attachment, Author, Batch, Delivery, Message, Reply, StatusChange, Thread
from regulation.lifecycle import AuditEntry, CaseRecord, CaseState
from router.classifier import Routing

Case = CaseRecord


class Draft(BaseModel):
    """A proposed answer: submitted by an executor, approved or returned by the approver."""

    case_id: int
    kind: Literal["answer", "intermediate", "clarify"] = "answer"
    text: str
    author: str
    status: Literal["submitted", "approved", "returned"] = "submitted"
    quality: list[dict] = Field(default_factory=list)  # regulation.quality issues, shown to the approver
    comment: str | None = None  # the approver's, when returned
    created_at: datetime | None = None


__all__ = ["Attachment", "AuditEntry", "Author", "Batch", "Case", "CaseRecord", "CaseState", "Delivery", "Draft",
           "Message", "Reply", "Routing", "Span", "StatusChange", "Thread", "Verdict"]
