"""ПОС payloads <-> our models. Pure: no I/O. Everything that knows the appeal's shape is here.

An appeal listed in the inbox maps to a Message (an edited description to an edit) and to the
status changes it carries, each at its own time, so seeing an appeal again adds nothing new:
- an answer approved by the manager -> `approved`; returned -> `returned` (with the comment);
- a negative comment by the applicant or a moderator -> `reopened`; a rating -> `rated`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.errors import Fatal, Malformed
from connectors.parsing import iso_time, total
from otklik.models import Attachment, Author, EventKind, Message, Platform, Reply, StatusChange, Thread

PLATFORM = Platform.POS
ANSWER_TYPES = {
    "solved": "SOLVED",
    "explained": "SOLVED",
    "not_solved": "NOT_SOLVED",
    "rejected": "REJECTED",
    "postponed": "POSTPONED",
}
WEB = "https://pos.gosuslugi.ru/appeals"


def parse_time(value: str) -> datetime:
    """ISO 8601 with an offset (or "Z"; naive is UTC) -> aware UTC; ValueError otherwise."""
    return iso_time(value)


def _author(applicant: dict[str, Any] | None) -> Author:
    applicant = applicant or {}
    name = " ".join(p for p in (applicant.get("name"), applicant.get("surname")) if p) or None
    return Author(id=str(applicant.get("id") or "unknown"), name=name)


@total(PLATFORM)
def appeal_message(appeal: dict[str, Any], source: str) -> Message:
    if not isinstance(appeal, dict) or "id" not in appeal or "description" not in appeal:
        raise Malformed("not a ПОС appeal", platform=PLATFORM)
    edited = appeal.get("editedAt")
    return Message(
        source=source,
        platform=PLATFORM,
        external_id=str(appeal["id"]),
        thread=Thread(kind="appeal", ids={"appeal_id": appeal["id"]}),
        author=_author(appeal.get("applicant")),
        text=appeal.get("description") or "",
        created_at=parse_time(appeal["createdAt"]),
        url=f"{WEB}/{appeal['id']}",
        attachments=[
            Attachment(type="file", url=u) for u in appeal.get("attachments") or [] if isinstance(u, str)
        ],
        event=EventKind.EDIT if edited else EventKind.NEW,
        edited_at=parse_time(edited) if edited else None,
        platform_topic=appeal.get("subsubjectName"),
        platform_topic_group=appeal.get("subjectName"),
        fast_track=bool(appeal.get("fastTrack")),
        platform_deadline=parse_time(appeal["answerAt"]) if appeal.get("answerAt") else None,
        raw=appeal,
    )


@total(PLATFORM)
def status_changes(appeal: dict[str, Any]) -> list[StatusChange]:
    out: list[StatusChange] = []
    ext = str(appeal["id"])
    for a in appeal.get("answers") or []:
        raw = {
            "answer_id": a.get("id"),
            "answer_type": a.get("appealAnswerType"),
            "outgoing_number": a.get("outgoingNumber"),
            "appeal_status": appeal.get("status"),
        }
        if a.get("approvalStatus") == "APPROVED" and a.get("reviewedAt"):
            out.append(
                StatusChange(external_id=ext, status="approved", at=parse_time(a["reviewedAt"]), raw=raw)
            )
        elif a.get("approvalStatus") == "RETURNED" and a.get("reviewedAt"):
            out.append(
                StatusChange(
                    external_id=ext,
                    status="returned",
                    comment=a.get("approvalComment"),
                    at=parse_time(a["reviewedAt"]),
                    raw=raw,
                )
            )
    for c in appeal.get("comments") or []:
        if c.get("negative"):
            out.append(
                StatusChange(
                    external_id=ext,
                    status="reopened",
                    comment=c.get("text"),
                    at=parse_time(c["createdAt"]),
                    raw={"author_type": c.get("authorType")},
                )
            )
    rating = appeal.get("rating")
    if isinstance(rating, dict) and rating.get("value") is not None:
        out.append(
            StatusChange(
                external_id=ext,
                status="rated",
                rating=int(rating["value"]),
                comment=rating.get("comment"),
                at=parse_time(rating["createdAt"]),
                raw={},
            )
        )
    return out


def answer_body(
    reply: Reply, executor_info: dict[str, Any] | None = None, attachment_ids: list[str] | None = None
) -> dict[str, Any]:
    """Reply -> POST /appeal-service/edms/{id}. `outgoingNumber` carries our reply id, so a retry
    can find the answer on the appeal before posting it again; `attachmentIds` names the files
    uploaded to the file storage first (PosClient.upload)."""
    if reply.kind == "intermediate" or reply.outcome == "postponed":
        if reply.postponed_until is None:
            raise Fatal("a POSTPONED answer needs postponed_until", platform=PLATFORM, code="postponedDate")
        answer_type = "POSTPONED"
    elif reply.kind == "answer":
        answer_type = ANSWER_TYPES.get(reply.outcome or "solved")
        if answer_type is None:
            raise Fatal(f"unknown outcome {reply.outcome!r}", platform=PLATFORM, code="appealAnswerType")
    else:
        raise Fatal(
            f"ПОС takes answers and intermediate answers, not {reply.kind!r}", platform=PLATFORM, code="kind"
        )
    body: dict[str, Any] = {
        "answer": True,
        "answerText": reply.text,
        "appealAnswerType": answer_type,
        "outgoingNumber": reply.id,
        "notifyApplicant": True,
    }
    if answer_type == "POSTPONED":
        body["postponedDate"] = reply.postponed_until.astimezone(UTC).isoformat(timespec="milliseconds")
    if executor_info:
        body["executorInfo"] = executor_info
    if attachment_ids:
        body["attachmentIds"] = list(attachment_ids)
    return body


def appeal_id(reply: Reply) -> int:
    try:
        return int(reply.thread.ids["appeal_id"])
    except (KeyError, ValueError):
        raise Fatal("the reply's thread has no appeal_id", platform=PLATFORM) from None


@total(PLATFORM)
def find_answer(appeal: dict[str, Any], reply_id: str) -> dict[str, Any] | None:
    for a in appeal.get("answers") or []:
        if a.get("outgoingNumber") == reply_id:
            return a
    return None
