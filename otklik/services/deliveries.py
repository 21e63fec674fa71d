"""Deliveries (the outbox) for the curator: the list, a retry, a redirect to private messages.
Retrying and redirecting post in the municipality's name: they need a fresh second factor."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from otklik.actor import Actor
from otklik.services import access
from storage import audit, outbox
from storage.tables import now


def listing(session: Session, actor: Actor, statuses: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    access.require(session, actor, "read_deliveries", entity="outbox")
    return [outbox.as_dict(r) for r in outbox.listing(session, statuses)]


# What needs a person: parked (the platform refused for good, e.g. a closed thread), failed (ran
# out of attempts), uncertain (posting may or may not have happened: check before retrying).
TROUBLED = ("parked", "failed", "uncertain")


def troubled(session: Session, actor: Actor) -> dict[str, Any]:
    """The deliveries that need a person, and the counts of every status (for the admin page)."""
    access.require(session, actor, "read_deliveries", entity="outbox")
    return {"deliveries": [outbox.as_dict(r) for r in outbox.listing(session, TROUBLED)],
            "counts": outbox.counts(session)}


def _step_up(session: Session, actor: Actor, action: str, outbox_id: str) -> None:
    access.require(session, actor, action, entity="outbox", entity_id=outbox_id)
    access.require_fresh_second_factor(actor, now(), access.step_up_window(), action=action, entity="outbox",
                                       entity_id=outbox_id)


def retry(session: Session, actor: Actor, outbox_id: str) -> dict[str, Any]:
    _step_up(session, actor, "retry_delivery", outbox_id)
    row = outbox.retry(session, outbox_id)
    audit.append(session, actor=actor.login, action="delivery_retry", entity="outbox", entity_id=row.id)
    return outbox.as_dict(row)


def redirect(session: Session, actor: Actor, outbox_id: str) -> dict[str, Any]:
    _step_up(session, actor, "redirect_delivery", outbox_id)
    row = outbox.redirect_private(session, outbox_id)
    audit.append(session, actor=actor.login, action="delivery_redirected", entity="outbox", entity_id=row.id)
    return outbox.as_dict(row)
