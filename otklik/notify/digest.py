"""The daily digest: once a day per person, at their digest time (08:30 local by default) on the
profile's working days, one note listing their cases due today or tomorrow and those overdue.

"Once" holds across restarts and several daemons: the note's event key is `digest:<user>:<date>`
and `notifications.dedupe_key` is unique. Run from the deadline watcher's step (one leased loop).
Nothing due, no note: the person is looked at again on the next step of the day."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from otklik.notify import prefs, store, texts
from otklik.notify.recipients import Recipient
from otklik.services import access
from regulation.profiles import load_profile
from storage.db import Database
from storage.tables import CaseAssignmentRow, CaseRow, NotificationRow, UserRow, now

NOTHING_DUE = ("accepted", "closed", "dropped", "published", "awaiting_feedback")
LISTED = 20


def _cases(session: Session, user: UserRow, until: datetime, today) -> list[CaseRow]:
    """Open cases of this person due by `until`: the municipality's for curators, approvers and
    the head; those its departments (its own and the ones it stands in for) hold now for an executor."""
    sc = access.scope(session, access.actor_of(user, via="api"), today)
    stmt = select(CaseRow).where(CaseRow.state.not_in(NOTHING_DUE), CaseRow.answer_by.is_not(None),
                                 CaseRow.answer_by <= until)
    if not sc.municipal:
        if "executor" not in sc.roles or not sc.departments:
            return []
        stmt = stmt.where(CaseRow.id.in_(select(CaseAssignmentRow.case_id).where(
            CaseAssignmentRow.department.in_(sc.departments), CaseAssignmentRow.unassigned_at.is_(None))))
    return list(session.execute(stmt.order_by(CaseRow.answer_by, CaseRow.id).limit(LISTED + 1)).scalars())


def lines(cases: list[CaseRow], at: datetime, tz) -> list[str]:
    out = []
    for c in cases[:LISTED]:
        late = " — просрочено" if c.answer_by < at else ""
        topic = f" ({c.topic or c.topic_group})" if (c.topic or c.topic_group) else ""
        out.append(f"№{c.id}{topic}: срок {texts.local_time(c.answer_by, tz)}{late}")
    if len(cases) > LISTED:
        out.append("…и другие: см. список обращений в консоли.")
    return out


def run(db: Database, profile_name: str, link: str, at: datetime | None = None) -> int:
    """Write the digests due at `at`; returns how many people got one."""
    at = at or now()
    cal = load_profile(profile_name).calendar
    local = cal.local(at)
    today = local.date()
    if not cal.is_working_day(today):
        return 0
    until = datetime.combine(today + timedelta(days=1), time(23, 59, 59), cal.tz)
    made = 0
    with db.session() as s:
        users = list(s.execute(select(UserRow).where(UserRow.active.is_(True)).order_by(UserRow.id)).scalars())
        choices = prefs.load_many(s, [u.id for u in users])
        for user in users:
            p = choices[user.id]
            if not p.digest or local.time() < prefs.parse_hhmm(p.digest_at, "digest_at"):
                continue
            key = f"digest:{user.id}:{today.isoformat()}"
            if s.execute(select(NotificationRow.id).where(
                    NotificationRow.dedupe_key.startswith(f"{key}|"))).first():
                continue  # today's is written (this process or another, before a restart)
            cases = _cases(s, user, until, today)
            if not cases:
                continue
            note = texts.digest_note(local, lines(cases, at, cal.tz), link)
            if store.write(s, [(Recipient(user.id, user.login), note)], "digest", key, tz=cal.tz, at=at):
                made += 1
    return made
