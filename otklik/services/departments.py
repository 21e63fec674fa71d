"""The departments directory, run by an admin. A department's id is the executor id the router
assigns (router/data/executors.yaml) and what a user's `department` names."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from otklik.actor import Actor
from otklik.exceptions import InvalidTransition
from otklik.services import access
from storage import audit
from storage.tables import DepartmentRow, now

ID = re.compile(r"^[a-z0-9_]{1,100}$")  # as router/executors.py accepts


def listing(session: Session, actor: Actor) -> list[dict[str, Any]]:
    access.require(session, actor, "manage_directory", entity="departments")
    return [as_dict(d) for d in session.execute(select(DepartmentRow).order_by(DepartmentRow.id)).scalars()]


def add(session: Session, actor: Actor, department_id: str, name: str) -> dict[str, Any]:
    access.require(session, actor, "manage_directory", entity="department", entity_id=department_id)
    if not ID.match(department_id):
        raise InvalidTransition(f"a department id is lowercase latin letters, digits and _, not {department_id!r}")
    name = name.strip()
    if not name:
        raise InvalidTransition("a department needs a name")
    if session.get(DepartmentRow, department_id) is not None:
        raise InvalidTransition(f"department {department_id} already exists")
    row = DepartmentRow(id=department_id, name=name, created_at=now())
    session.add(row)
    audit.append(session, actor=actor.login, action="department_added", entity="department",
                 entity_id=department_id, data={"name": name})
    return as_dict(row)


def as_dict(row: DepartmentRow) -> dict[str, Any]:
    return {"id": row.id, "name": row.name}
