"""The head's dashboard: overdue and near-due cases by department, recent alerts (spikes, socially
significant messages, missed deadlines) and today's volume by topic group.

`head` reads (two queries: the cases that matter now, the recent alerts) and hands the rows to
`summarize`, a pure function, so the figures are tested without a database. The municipality's
day starts at local midnight in the profile's time zone.

"Near due" here is a wall-clock reading of the watcher's rule (regulation.escalation): less than
the profile's `near_due_share` of the answer term is left. The watcher's own near-due alerts,
computed on working hours, are listed with the alerts."""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from otklik.actor import Actor
from otklik.services import access
from regulation.profiles import load_profile
from storage.tables import AlertRow, CaseRow, DepartmentRow, now

# States in which the answer to the citizen is still owed (the rest are answered or closed).
AWAITING_ANSWER = ("identified", "routed", "returned", "drafting", "on_approval", "revision", "approved",
                   "publishing")
# Alerts a head acts on; operator alerts (tokens, captchas) belong to the admin's sources page.
HEAD_ALERTS = ("spike", "significant", "overdue", "near_due", "overdue_report")
ALERT_WINDOW = timedelta(hours=24)
UNASSIGNED = "—"


@dataclass(frozen=True)
class CaseFacts:
    id: int
    state: str
    importance: str
    topic_group: str | None
    department: str | None  # the responsible one (first executor), None before routing
    answer_by: datetime | None
    created_at: datetime
    near_share: float  # the profile's near_due_share


@functools.cache
def _near_share(profile: str) -> float:
    return load_profile(profile).escalation.near_due_share


def _local_midnight(at: datetime, tz) -> datetime:
    local = at.astimezone(tz)
    return datetime.combine(local.date(), time(0), tzinfo=tz)


def summarize(cases: list[CaseFacts], alerts: list[dict[str, Any]], *, at: datetime, day_start: datetime,
              names: dict[str, str] | None = None) -> dict[str, Any]:
    """The dashboard's figures. Pure: rows in, numbers out."""
    names = names or {}
    per: dict[str, Counter] = defaultdict(Counter)
    overdue_ids: dict[str, list[int]] = defaultdict(list)
    near_ids: dict[str, list[int]] = defaultdict(list)
    today: Counter = Counter()
    for c in cases:
        if c.created_at >= day_start:
            today[c.topic_group or "без темы"] += 1
        if c.state not in AWAITING_ANSWER:
            continue
        dept = c.department or UNASSIGNED
        per[dept]["open"] += 1
        if c.importance == "high":
            per[dept]["high"] += 1
        if c.answer_by is None:
            continue
        if c.answer_by <= at:
            per[dept]["overdue"] += 1
            overdue_ids[dept].append(c.id)
        elif c.answer_by - at <= (c.answer_by - c.created_at) * c.near_share:
            per[dept]["near_due"] += 1
            near_ids[dept].append(c.id)
    departments = [{"department": d, "name": names.get(d, d), "open": n["open"], "overdue": n["overdue"],
                    "near_due": n["near_due"], "high": n["high"],
                    "overdue_cases": sorted(overdue_ids[d])[:50], "near_due_cases": sorted(near_ids[d])[:50]}
                   for d, n in per.items()]
    departments.sort(key=lambda r: (-r["overdue"], -r["near_due"], -r["open"], r["name"]))
    return {
        "at": at.isoformat(), "day_start": day_start.isoformat(),
        "totals": {"open": sum(r["open"] for r in departments), "overdue": sum(r["overdue"] for r in departments),
                   "near_due": sum(r["near_due"] for r in departments), "today": sum(today.values())},
        "departments": departments,
        "today_by_topic_group": [{"topic_group": g, "count": n}
                                 for g, n in sorted(today.items(), key=lambda kv: (-kv[1], kv[0]))],
        "alerts": alerts,
        "alert_counts": dict(Counter(a["kind"] for a in alerts)),
    }


def head(session: Session, actor: Actor, at: datetime | None = None) -> dict[str, Any]:
    """The dashboard as the head (or the curator) sees it at `at` (now by default)."""
    access.require(session, actor, "read_dashboard", entity="dashboard")
    at = at or now()
    from otklik.settings import get_settings

    tz = load_profile(get_settings().profile).calendar.tz
    day_start = _local_midnight(at, tz)
    rows = session.execute(
        select(CaseRow.id, CaseRow.state, CaseRow.importance, CaseRow.topic_group, CaseRow.executors,
               CaseRow.answer_by, CaseRow.created_at, CaseRow.profile)
        .where(or_(CaseRow.state.in_(AWAITING_ANSWER), CaseRow.created_at >= day_start)))
    facts = [CaseFacts(id=i, state=st, importance=imp, topic_group=g, department=(ex or [None])[0],
                       answer_by=ab, created_at=ca, near_share=_near_share(p))
             for i, st, imp, g, ex, ab, ca, p in rows]
    recent = list(session.execute(select(AlertRow).where(AlertRow.at >= at - ALERT_WINDOW,
                                                         AlertRow.kind.in_(HEAD_ALERTS))
                                  .order_by(AlertRow.id.desc()).limit(100)).scalars())
    alerts = [{"id": a.id, "at": a.at.isoformat(), "kind": a.kind, "text": a.text, "cases": alert_cases(a.data)}
              for a in recent]
    names = dict(session.execute(select(DepartmentRow.id, DepartmentRow.name)).all())
    return summarize(facts, alerts, at=at, day_start=day_start, names=names)


def alert_cases(data: dict[str, Any] | None) -> list[int]:
    """The case ids an alert is about, for links: the watcher names its case; a spike or a
    significant message lists the cases it counted (the pipeline feeds the detector case ids)."""
    data = data or {}
    ids = [data.get("case_id"), *(data.get("message_ids") or ())]
    return sorted({int(i) for i in ids if str(i).isdigit()})[:20]
