"""Synthetic cases straight into the tables, in bulk (a few INSERTs with many rows each): for the
report tests, the bench and nothing else. No real texts: placeholders only."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from storage.case_moments import moments, place_names
from storage.tables import CaseAssignmentRow, CaseRow, DraftRow, MessageRow, OutboxRow, VerdictRow


@dataclass
class Spec:
    identified: datetime
    source: str = "vk"
    departments: tuple[str, ...] = ("dorogi",)
    state: str = "routed"
    answer_by: datetime | None = None
    routed: datetime | None = None
    submitted: datetime | None = None
    approved: datetime | None = None
    published: datetime | None = None
    intermediate: datetime | None = None
    topic_group: str | None = "Дороги"
    topic: str | None = "Ямы"
    outcome: str | None = None
    ratings: tuple[int, ...] = ()
    reopened: int = 0
    repeat_of: int | None = None
    engagement: int = 0
    places: tuple[str, ...] = ()
    returned_drafts: int = 0
    flags: tuple[str, ...] = ()
    photos: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def record(spec: Spec, channel: str = "social") -> dict[str, Any]:
    """The JSON a case keeps (regulation.case.CaseRecord.model_dump(mode="json")), the parts reports read."""
    return {
        "state": spec.state, "channel": channel, "importance": "normal", "executors": list(spec.departments),
        "deadlines": {"identified_at": _iso(spec.identified), "answer_by": _iso(spec.answer_by)},
        "milestones": {"routed_at": _iso(spec.routed), "submitted_at": _iso(spec.submitted),
                       "approved_at": _iso(spec.approved), "published_at": _iso(spec.published),
                       "intermediate_at": _iso(spec.intermediate)},
        "outcome": spec.outcome, "reopened": spec.reopened, "repeat_of": spec.repeat_of,
        "intermediate_at": _iso(spec.intermediate),
        "feedback_history": [{"kind": "rated", "at": _iso(spec.published or spec.identified), "rating": r}
                             for r in spec.ratings],
        **spec.extra,
    }


def insert_cases(session: Session, specs: list[Spec], *, first_id: int = 1, profile: str = "severny",
                 dropped: list[tuple[datetime, list[str], bool]] = ()) -> list[int]:
    """Insert the specs as messages + cases (+ assignments, drafts, posted replies); `dropped`: messages
    moderation dropped (at, reasons, overruled). Returns the case ids, in the specs' order."""
    msgs, cases, assigns, drafts, outbox = [], [], [], [], []
    draft_id = first_id * 4
    for i, spec in enumerate(specs):
        n = first_id + i
        rec = record(spec)
        msgs.append(dict(id=n, source=spec.source, platform="vk", external_id=f"s{n}", thread={"kind": "wall"},
                         author_id="0", text="…", created_at=spec.identified, attachments=[], raw={},
                         engagement=spec.engagement, processed=True, stored_at=spec.identified))
        cases.append(dict(id=n, message_id=n, profile=profile, channel="social", state=spec.state,
                          topic_group=spec.topic_group, topic=spec.topic, executors=list(spec.departments),
                          location=[{"name": p, "kind": "settlement", "start": 0, "end": 1} for p in spec.places],
                          place_names=place_names([{"name": p} for p in spec.places]),
                          answer_by=spec.answer_by, record=rec, created_at=spec.identified,
                          updated_at=spec.identified, **moments(rec)))
        for j, dept in enumerate(spec.departments):
            assigns.append(dict(case_id=n, department=dept, role="responsible" if j == 0 else "co",
                                assigned_at=spec.routed or spec.identified))
        statuses = ["returned"] * spec.returned_drafts + (["approved"] if spec.approved else [])
        for k, status in enumerate(statuses or (["submitted"] if spec.flags else [])):
            draft_id += 1
            drafts.append(dict(id=draft_id, case_id=n, kind="answer", text="…", author="x", status=status,
                               quality=[{"code": c, "message": "", "severity": "warning"} for c in spec.flags]
                               if k == 0 else [], created_at=spec.submitted or spec.identified))
        if spec.published and statuses:
            outbox.append(dict(id=f"r{n}", case_id=n, draft_id=draft_id, message_id=n, source=spec.source,
                               reply={"attachments": [{"kind": "photo"}] if spec.photos else []}, status="posted",
                               posted_at=spec.published, created_at=spec.approved or spec.published))
    verdicts = []
    base = first_id + len(specs)
    for k, (at, reasons, overruled) in enumerate(dropped):
        n = base + k
        msgs.append(dict(id=n, source="vk", platform="vk", external_id=f"s{n}", thread={"kind": "wall"},
                         author_id="0", text="…", created_at=at, attachments=[], raw={}, engagement=0,
                         processed=True, stored_at=at))
        verdicts.append(dict(message_id=n, decision="accept" if overruled else "drop", reasons=reasons, spans=[],
                             overruled_by="cur" if overruled else None, decided_at=at))
    for table, rows in ((MessageRow, msgs), (CaseRow, cases), (CaseAssignmentRow, assigns), (DraftRow, drafts),
                        (OutboxRow, outbox), (VerdictRow, verdicts)):
        for start in range(0, len(rows), 5000):
            if rows[start:start + 5000]:
                session.execute(insert(table), rows[start:start + 5000])
    return [first_id + i for i in range(len(specs))]


def synthetic(n: int, start: datetime, end: datetime, seed: int = 18) -> list[Spec]:
    """`n` plausible cases spread over [start, end): most answered, some late, some still open."""
    rng = random.Random(seed)
    span = (end - start).total_seconds()
    groups = [("Дороги", "Ямы", "dorogi"), ("ЖКХ", "Отопление", "zhkh"), ("ЖКХ", "Вода", "zhkh"),
              ("Благоустройство", "Освещение", "blago"), ("Транспорт", "Автобусы", "transport")]
    out = []
    for i in range(n):
        t = start + timedelta(seconds=rng.random() * span)
        group, topic, dept = rng.choice(groups)
        answer_by = t + timedelta(days=rng.choice((1, 3, 5, 10)))
        routed = t + timedelta(hours=rng.random() * 4)
        done = rng.random() < 0.85
        submitted = routed + timedelta(hours=rng.random() * 60) if done else None
        approved = submitted + timedelta(hours=rng.random() * 8) if done else None
        published = approved + timedelta(minutes=rng.random() * 30) if done else None
        out.append(Spec(
            identified=t, source=rng.choice(("vk", "ok", "tg", "pos")), departments=(dept,),
            state=("published" if done else rng.choice(("routed", "drafting", "on_approval", "closed"))),
            answer_by=answer_by, routed=routed, submitted=submitted, approved=approved, published=published,
            topic_group=group, topic=topic, outcome=rng.choice((None, "solved", "explained", "not_solved")) if done else None,
            ratings=(rng.randint(1, 5),) if done and rng.random() < 0.3 else (), reopened=int(rng.random() < 0.05),
            repeat_of=(i if i and rng.random() < 0.07 else None), engagement=rng.randint(0, 500),
            places=(rng.choice(("Северный", "Заречье", "ул. Ленина")),), returned_drafts=int(rng.random() < 0.1),
            flags=(("no_greeting",) if rng.random() < 0.05 else ()), photos=done and rng.random() < 0.2))
    return out


def ensure_departments(session: Session, ids: list[str]) -> None:
    """The directory may already hold them (the migration seeds the router's executors)."""
    from sqlalchemy import select

    from storage.tables import DepartmentRow

    have = set(session.execute(select(DepartmentRow.id)).scalars())
    session.add_all([DepartmentRow(id=d, name=d) for d in ids if d not in have])
    session.flush()
