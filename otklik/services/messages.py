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
             "spans": v.spans, "repeat_of": v.repeat_of} for m, v in session.execute(stmt)]


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
