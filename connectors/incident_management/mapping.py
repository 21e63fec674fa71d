"""Incident Management payloads <-> our models. Pure: no I/O. Everything that knows the mock's
shapes is here, so a real API replaces this file (and the paths in connector.py), nothing else.

An incident's `history` lists every change with the platform's global `seq`; a reader that
remembers the last `seq` maps only the newer entries:
- `created` / `source_edited` / `source_deleted` -> Message new / edit / delete;
- `answer_approved` / `answer_returned` (the regional centre), `citizen_comment` (reopens),
  `rated`, `feedback_accepted` (two days of silence) -> StatusChange.
Our own actions (`answer_submitted`, `answer_published`, `sent_for_rating`) map to nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors import media
from connectors.errors import Fatal, Malformed
from connectors.parsing import iso_time, total
from otklik.models import Author, EventKind, Message, Platform, Reply, StatusChange, Thread

PLATFORM = Platform.INCIDENT_MANAGEMENT
MESSAGE_EVENTS = {
    "created": EventKind.NEW,
    "source_edited": EventKind.EDIT,
    "source_deleted": EventKind.DELETE,
}
STATUS_EVENTS = {
    "answer_approved": "approved",
    "answer_returned": "returned",
    "citizen_comment": "reopened",
    "rated": "rated",
    "feedback_accepted": "accepted",
}
ANSWER_KINDS = {
    "answer": "final",
    "intermediate": "intermediate",
    "first_response": "first",
    "clarify": "clarification",
}
# The system knows three outcomes (Решено / Не решено / Отложено); ours are finer.
OUTCOMES = {
    "solved": "Решено",
    "explained": "Решено",
    "not_solved": "Не решено",
    "rejected": "Не решено",
    "postponed": "Отложено",
}
SOCIAL_KINDS = {"vk": "wall", "ok": "discussion", "telegram": "chat"}


def parse_time(value: str) -> datetime:
    """ISO 8601 with an offset (or "Z"; naive is UTC) -> aware UTC; ValueError otherwise."""
    return iso_time(value)


@total(PLATFORM)
def social_thread(incident: dict[str, Any]) -> tuple[Platform, Thread, str | None]:
    """Where to post the approved answer: the social network, its thread (in that network's
    connector's shape) and the post URL. Takes the incident payload (`Message.raw`)."""
    src = incident.get("source") or {}
    network = src.get("network")
    if network not in SOCIAL_KINDS:
        raise Fatal(f"incident {incident.get('id')} has no known social network source", platform=PLATFORM)
    return (
        Platform(network),
        Thread(kind=SOCIAL_KINDS[network], ids=dict(src.get("thread") or {})),
        src.get("post_url") if isinstance(src.get("post_url"), str) else None,
    )


@total(PLATFORM)
def incident_message(
    incident: dict[str, Any], source: str, event: EventKind = EventKind.NEW, at: str | None = None
) -> Message:
    if not isinstance(incident, dict) or "id" not in incident or "source" not in incident:
        raise Malformed("not an Incident Management incident", platform=PLATFORM)
    src = incident["source"]
    author = src.get("author") or {}
    ids: dict[str, str | int] = {"incident_id": incident["id"]}
    if src.get("network"):
        # The social thread travels with the case so the approved answer can be posted there.
        ids["network"] = src["network"]
        ids.update({f"social_{k}": v for k, v in (src.get("thread") or {}).items()})
    return Message(
        source=source,
        platform=PLATFORM,
        external_id=str(incident["id"]),
        thread=Thread(kind="incident", ids=ids),
        author=Author(
            id=str(author.get("id", "unknown")), name=author.get("name"), url=author.get("profile_url")
        ),
        text=incident.get("text") or "",
        created_at=parse_time(incident["created_at"]),
        url=src.get("post_url"),
        event=event,
        edited_at=parse_time(at) if at and event != EventKind.NEW else None,
        platform_topic=incident.get("topic"),
        platform_topic_group=incident.get("topic_group"),
        fast_track=incident.get("importance") == "high" or bool(incident.get("urgent")),
        platform_deadline=parse_time(incident["deadline"]) if incident.get("deadline") else None,
        raw=incident,
    )


@total(PLATFORM)
def map_incident(
    incident: dict[str, Any], source: str, since: int = 0
) -> tuple[list[Message], list[StatusChange]]:
    """What changed in this incident after `since` (the last global seq the reader stored)."""
    messages: list[Message] = []
    changes: list[StatusChange] = []
    history = incident.get("history")
    if not isinstance(history, list):
        raise Malformed("an incident without history", platform=PLATFORM)
    for event in history:
        if int(event.get("seq", 0)) <= since:
            continue
        kind = event.get("type")
        if kind in MESSAGE_EVENTS:
            messages.append(incident_message(incident, source, MESSAGE_EVENTS[kind], event.get("at")))
        elif kind in STATUS_EVENTS:
            changes.append(
                StatusChange(
                    external_id=str(incident["id"]),
                    status=STATUS_EVENTS[kind],
                    comment=event.get("comment"),
                    rating=event.get("rating"),
                    at=parse_time(event["at"]),
                    raw={**event, "incident_status": incident.get("status")},
                )
            )
    return messages, changes


def answer_body(reply: Reply) -> dict[str, Any]:
    """Reply -> the body of POST /incidents/{id}/answers."""
    kind = ANSWER_KINDS[reply.kind]
    body: dict[str, Any] = {"kind": kind, "text": reply.text, "client_reference": reply.id}
    if kind == "final":
        body["outcome"] = OUTCOMES.get(reply.outcome or "solved")
        if body["outcome"] is None:
            raise Fatal(f"unknown outcome {reply.outcome!r}", platform=PLATFORM, code="outcome")
    if kind == "intermediate":
        if reply.postponed_until is None:
            raise Fatal(
                "an intermediate answer needs postponed_until", platform=PLATFORM, code="postponed_until"
            )
        body["postponed_until"] = reply.postponed_until.isoformat()
    if reply.attachments:
        body["attachments"] = [{"type": a.type, "url": media.web_url(a, platform=PLATFORM, index=i)}
                               for i, a in enumerate(reply.attachments, 1) if a.url or media.is_stored(a)]
    return body


def incident_id(reply: Reply) -> int:
    try:
        return int(reply.thread.ids["incident_id"])
    except (KeyError, ValueError):
        raise Fatal("the reply's thread has no incident_id", platform=PLATFORM) from None
