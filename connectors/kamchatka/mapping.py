"""«Камчатка в порядке» payloads <-> our models. Pure: no I/O. Everything that knows the mock's
shapes is here, so a real API replaces this file (and the paths in connector.py), nothing else.

A message listed by the feed maps to one Message (withdrawn: a deletion; edited: an edit) and to
the status changes in its `events`, each at its own time, so seeing a message again adds nothing:
`extension_granted` / `extension_denied` (the coordinator), `confirmed` -> accepted, `rated`,
`rework` -> reopened (the user). Our own actions (`answer_published`, `extension_requested`) and
`assigned` (the message itself) map to no status change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors import media
from connectors.errors import Fatal, Malformed
from connectors.parsing import iso_time, total
from otklik.models import Attachment, Author, EventKind, Message, Platform, Reply, StatusChange, Thread

PLATFORM = Platform.KAMCHATKA
STATUS_EVENTS = {
    "extension_granted": "extension_granted",
    "extension_denied": "extension_denied",
    "confirmed": "accepted",
    "rated": "rated",
    "rework": "reopened",
}
EXTENSION_MAX_DAYS = 8  # 000 app. 2 §2.5
WEB = "https://kamchatka.example"


def parse_time(value: str) -> datetime:
    """ISO 8601 with an offset (or "Z"; naive is UTC) -> aware UTC; ValueError otherwise."""
    return iso_time(value)


@total(PLATFORM)
def message_of(item: dict[str, Any], source: str, web: str = WEB) -> Message:
    if not isinstance(item, dict) or "id" not in item or "events" not in item:
        raise Malformed("not a «Камчатка в порядке» message", platform=PLATFORM)
    events = item.get("events") or []
    edits = [e for e in events if e.get("type") == "edited"]
    if item.get("status") == "withdrawn":
        withdrawn = next((e for e in reversed(events) if e.get("type") == "withdrawn"), None)
        event, edited_at = EventKind.DELETE, withdrawn["at"] if withdrawn else item.get("updated_at")
    elif edits:
        event, edited_at = EventKind.EDIT, edits[-1]["at"]
    else:
        event, edited_at = EventKind.NEW, None
    author = item.get("author") or {}
    category = item.get("category") or {}
    return Message(
        source=source,
        platform=PLATFORM,
        external_id=str(item["id"]),
        thread=Thread(kind="message", ids={"message_id": item["id"]}),
        author=Author(id=str(author.get("esia_oid") or "unknown"), name=author.get("display_name")),
        text=item.get("text") or "",
        created_at=parse_time(item["posted_at"]),
        url=f"{web}/messages/{item['id']}",
        attachments=[Attachment(type="photo", url=p) for p in item.get("photos") or [] if isinstance(p, str)],
        event=event,
        edited_at=parse_time(edited_at) if edited_at else None,
        platform_topic=category.get("topic"),
        platform_topic_group=category.get("group"),
        fast_track=bool(item.get("fast_track")),
        platform_deadline=parse_time(item["deadline"]) if item.get("deadline") else None,
        raw=item,
    )


@total(PLATFORM)
def status_changes(item: dict[str, Any]) -> list[StatusChange]:
    out = []
    for e in item.get("events") or []:
        status = STATUS_EVENTS.get(e.get("type"))
        if status:
            out.append(
                StatusChange(
                    external_id=str(item["id"]),
                    status=status,
                    comment=e.get("comment"),
                    rating=e.get("rating"),
                    at=parse_time(e["at"]),
                    raw={**e, "deadline": item.get("deadline"), "message_status": item.get("status")},
                )
            )
    return out


def answer_body(reply: Reply, no_photo_reason: str | None = None) -> dict[str, Any]:
    """Reply -> POST /messages/{id}/answers. §2.5: an answer carries confirming photos, or says
    why the results allow none (`no_photo_reason`, from the source's options)."""
    if reply.kind == "clarify":
        kind = "clarification"
    elif reply.kind == "answer":
        kind = "answer"
    else:
        raise Fatal(
            f"«Камчатка в порядке» has no {reply.kind!r} answers (ask for an extension instead)",
            platform=PLATFORM,
            code="kind",
        )
    photos = [media.web_url(a, platform=PLATFORM, index=i) for i, a in enumerate(reply.attachments, 1)
              if (a.url or media.is_stored(a)) and a.type in ("photo", "image", "file", "doc")]
    body: dict[str, Any] = {"kind": kind, "text": reply.text, "photos": photos, "client_reference": reply.id}
    if kind == "answer" and not photos and no_photo_reason:
        body["no_photo_reason"] = no_photo_reason
    return body


def extension_body(days: int, comment: str) -> dict[str, Any]:
    if not 1 <= days <= EXTENSION_MAX_DAYS:
        raise Fatal(
            f"an extension is 1..{EXTENSION_MAX_DAYS} days (000 app. 2 §2.5)", platform=PLATFORM, code="days"
        )
    if not comment.strip():
        raise Fatal(
            "an extension request needs a comment (000 app. 2 §2.5)", platform=PLATFORM, code="comment"
        )
    return {"days": days, "comment": comment}


def message_id(reply: Reply) -> int:
    try:
        return int(reply.thread.ids["message_id"])
    except (KeyError, ValueError):
        raise Fatal("the reply's thread has no message_id", platform=PLATFORM) from None
