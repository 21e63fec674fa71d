"""The append-only audit trail: every state change of a case, verdict overrule, approval, delivery."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.tables import AuditRow, now


def append(session: Session, *, actor: str, action: str, entity: str, entity_id: str | int,
           data: dict[str, Any] | None = None) -> None:
    session.add(AuditRow(at=now(), actor=actor, action=action, entity=entity, entity_id=str(entity_id),
                         data=data or {}))


def trail(session: Session, entity: str, entity_id: str | int) -> list[AuditRow]:
    stmt = select(AuditRow).where(AuditRow.entity == entity, AuditRow.entity_id == str(entity_id))
    return list(session.execute(stmt.order_by(AuditRow.id)).scalars())
