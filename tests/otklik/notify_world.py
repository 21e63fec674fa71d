"""A small administration for the notification tests: departments, people with roles and
addresses, and cases opened and routed through the real services (no storage mocked)."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

from otklik.services import cases
from router.classifier import Routing
from storage.tables import DepartmentRow, MessageRow, UserRow

# Personal data of the (invented) citizen: must never reach a note, a log or an e-mail.
AUTHOR = "Жителева Анна Петровна"
PHONE = "+7 913 555-01-02"
PEOPLE = {
    # login: (role, roles, department, e-mail)
    "ivanov": ("executor", [], "dorogi", "ivanov@adm.example"),
    "petrova": ("executor", [], "dorogi", None),
    "sidorov": ("executor", [], "zhkh", "sidorov@adm.example"),
    "kurator": ("curator", [], None, "kurator@adm.example"),
    "soglas": ("approver", [], None, "soglas@adm.example"),
    "glava": ("head", [], None, "glava@adm.example"),
}
_ids = count(1)


def staff(s) -> dict[str, int]:
    for dept, name in (("dorogi", "Дороги"), ("zhkh", "ЖКХ")):
        if s.get(DepartmentRow, dept) is None:  # the directory may list them already
            s.add(DepartmentRow(id=dept, name=name))
    s.flush()
    out = {}
    for login, (role, roles, dept, email) in PEOPLE.items():
        u = UserRow(login=login, role=role, roles=[role, *roles], department=dept, password_hash="-", email=email)
        s.add(u)
        s.flush()
        out[login] = u.id
    return out


def open_case(s, executors=("dorogi",), importance: str = "normal", profile: str = "severny") -> int:
    n = next(_ids)
    msg = MessageRow(source="vk", platform="vk", external_id=f"n{n}-{datetime.now(UTC).timestamp()}",
                     author_id="77", author_name=AUTHOR, thread={"kind": "wall", "ids": {"owner_id": -1, "post_id": n}},
                     text=f"Яма у дома 5, звоните {PHONE}", created_at=datetime.now(UTC), attachments=[], raw={},
                     processed=True)
    s.add(msg)
    s.flush()
    routing = Routing(topic_group="Дороги", topic="Ямы на дорогах", confidence=0.9, importance=importance,
                      executors=list(executors))
    return cases.open_or_update(s, msg, routing, channel="social", profile_name=profile).id

