"""Messages moderation dropped: the curator's and the head's list, and the curator's overrule."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from otklik.actor import Actor
from otklik.exceptions import InvalidTransition
from otklik.services import access
from storage import audit
from storage.tables import MessageRow, VerdictRow


def dropped(session: Session, actor: Actor, limit: int = 500) -> list[dict[str, Any]]:
    access.require(session, actor, "read_dropped", entity="messages")
    stmt = (select(MessageRow, VerdictRow).join(VerdictRow, VerdictRow.message_id == MessageRow.id)
            .where(VerdictRow.decision == "drop").order_by(MessageRow.id.desc()).limit(limit))
    return [{"message_id": m.id, "source": m.source, "text": m.text, "reasons": v.reasons,
             "spans": v.spans, "repeat_of": v.repeat_of, "created_at": m.created_at.isoformat(),
             "decided_at": v.decided_at.isoformat() if v.decided_at else None,
             "segments": segments(m.text, v.spans)} for m, v in session.execute(stmt)]


def segments(text: str, spans: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The text cut into pieces, each with the reason moderation matched it for (None between
    matches), so a page can mark the matched words without building HTML from offsets. Spans
    that overlap are merged (the first reason wins); offsets outside the text are clipped."""
    cuts: list[tuple[int, int, str]] = []
    for sp in sorted(spans or (), key=lambda sp: (int(sp.get("start", 0)), -int(sp.get("end", 0)))):
        start, end = max(0, int(sp.get("start", 0))), min(len(text), int(sp.get("end", 0)))
        if end <= start:
            continue
        if cuts and start < cuts[-1][1]:
            last = cuts[-1]
            cuts[-1] = (last[0], max(last[1], end), last[2])
            continue
        cuts.append((start, end, str(sp.get("reason") or "")))
    out: list[dict[str, Any]] = []
    pos = 0
    for start, end, reason in cuts:
        if start > pos:
            out.append({"text": text[pos:start], "reason": None})
        out.append({"text": text[start:end], "reason": reason})
        pos = end
    if pos < len(text) or not out:
        out.append({"text": text[pos:], "reason": None})
    return out


def overrule_drop(session: Session, actor: Actor, message_id: int) -> None:
    """A curator reverses a moderation drop: the message goes through routing as accepted."""
    access.require(session, actor, "overrule_drop", entity="message", entity_id=message_id)
    verdict = session.get(VerdictRow, message_id)
    if verdict is None or verdict.decision != "drop":
        raise InvalidTransition(f"message {message_id} was not dropped")
    verdict.decision, verdict.overruled_by = "accept", actor.login
    msg = session.get(MessageRow, message_id)
    msg.processed, msg.revision = False, msg.revision + 1
    audit.append(session, actor=actor.login, action="drop_overruled", entity="message", entity_id=message_id,
                 data={"reasons": verdict.reasons})
