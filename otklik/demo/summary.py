"""What the demo counts: from the database, the emulators' record of posted replies, and the feeder."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import httpx
from sqlalchemy import func, select

from storage.tables import CaseRow, MessageRow, OutboxRow, VerdictRow


def _replies(demo) -> list[dict]:
    out = []
    for server in demo.servers.values():
        try:
            out += httpx.get(f"{server.url}/_sandbox/replies", timeout=5).json()["replies"]
        except (httpx.HTTPError, ValueError, KeyError):
            pass
    return out


def duplicates_posted(replies: list[dict]) -> int:
    """Replies the platforms received more than once for the same citizen message and text."""
    seen = Counter((str(r.get("reply_to")), r.get("text")) for r in replies)
    return sum(n - 1 for n in seen.values() if n > 1)


def collect(db, demo, feeder) -> dict:
    with db.session() as s:
        stored = s.execute(select(func.count(MessageRow.id))).scalar_one()
        dropped = Counter()
        for reasons, in s.execute(select(VerdictRow.reasons).where(VerdictRow.decision == "drop")):
            dropped[reasons[0] if reasons else "other"] += 1
        states = Counter(dict(s.execute(select(CaseRow.state, func.count()).group_by(CaseRow.state)).all()))
        # Counted here, not in SQL: JSON has no portable "non-empty" test (PostgreSQL's json has no
        # equality at all), and a demo holds hundreds of cases, not millions.
        routed = sum(1 for (executors,) in s.execute(select(CaseRow.executors)) if executors)
        outbox = Counter(dict(s.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status)).all()))
        # A citizen may delete a message after its reply was approved: the platform then refuses
        # the reply, which is the right end for it, not a lost one.
        failed_target_deleted = s.execute(
            select(func.count(OutboxRow.id))
            .join(MessageRow, MessageRow.id == OutboxRow.message_id)
            .where(OutboxRow.status == "failed", MessageRow.deleted_at.is_not(None))
        ).scalar_one()
        unprocessed = s.execute(select(func.count(MessageRow.id)).where(MessageRow.processed.is_(False))).scalar_one()
        open_due = [d for (d,) in s.execute(select(CaseRow.answer_by).where(
            CaseRow.state.not_in(("published", "accepted", "awaiting_feedback")), CaseRow.answer_by.is_not(None)))]
    replies = _replies(demo)
    t = datetime.now(UTC)
    sla = {"open_cases": len(open_due), "overdue": sum(d < t for d in open_due),
           "nearest_due_in_s": int((min(open_due) - t).total_seconds()) if open_due else None}
    received = sum(feeder.injected.values())
    approved = sum(outbox.values())
    published = outbox.get("posted", 0)
    open_deliveries = sum(outbox.get(k, 0) for k in ("pending", "enqueued", "sending"))
    return {
        "received": received,
        "stored": stored,
        "dropped": dict(dropped),
        "routed": routed,
        "cases_by_state": dict(states),
        "approved": approved,
        "published": published,
        "deliveries": dict(outbox),
        "failed_target_deleted": failed_target_deleted,
        "replies_on_platforms": len(replies),
        "duplicates_posted": duplicates_posted(replies),
        # Sent to an emulator but not yet polled: in flight while the demo runs. Only what is still
        # missing once everything settled (the final summary) is lost.
        "in_flight": max(0, received - stored),
        "lost": max(0, received - stored),
        "stored_twice": max(0, stored - received),
        "settled": stored >= received and unprocessed == 0 and open_deliveries == 0
        and states.get("routed", 0) == 0 and states.get("on_approval", 0) == 0,
        "traffic_errors": feeder.errors,
        "sla": sla,
    }


FEED_SIZE = 5
VERDICTS = {"accept": "принято", "drop": "отклонено модерацией"}


def feed(db, size: int = FEED_SIZE) -> list[dict]:
    """The latest citizens' messages and what became of each: the moderation verdict, the route
    (topic group and departments), the case's state and the reply posted. The texts are the demo's
    own generated ones, never a real citizen's."""
    with db.session() as s:
        messages = s.execute(select(MessageRow.id, MessageRow.platform, MessageRow.text)
                             .order_by(MessageRow.id.desc()).limit(size)).all()
        ids = [m.id for m in messages]
        verdicts = dict(s.execute(select(VerdictRow.message_id, VerdictRow.decision)
                                  .where(VerdictRow.message_id.in_(ids))).all())
        reasons = dict(s.execute(select(VerdictRow.message_id, VerdictRow.reasons)
                                 .where(VerdictRow.message_id.in_(ids))).all())
        cases = {c.message_id: c for c in s.execute(select(CaseRow).where(CaseRow.message_id.in_(ids))).scalars()}
        replies = {}
        for message_id, reply, status in s.execute(select(OutboxRow.message_id, OutboxRow.reply, OutboxRow.status)
                                                   .where(OutboxRow.message_id.in_(ids)).order_by(OutboxRow.id)):
            replies[message_id] = ((reply or {}).get("text") if isinstance(reply, dict) else None, status)
    out = []
    for m in messages:
        case = cases.get(m.id)
        verdict = verdicts.get(m.id)
        why = ", ".join(reasons.get(m.id) or []) if verdict == "drop" else ""
        reply_text, reply_status = replies.get(m.id, (None, None))
        out.append({
            "message_id": m.id, "platform": m.platform, "text": m.text,
            "verdict": VERDICTS.get(verdict, "в обработке") + (f" ({why})" if why else ""),
            "route": (f"{case.topic_group or '—'} → {', '.join(case.executors or []) or 'не назначено'}"
                      if case else ""),
            "state": case.state if case else "",
            "reply": reply_text, "reply_status": reply_status,
        })
    return out


def timeliness(db, profile: str = "severny") -> list[dict]:
    """The timeliness report for the demo's day (the municipality's date), whole and per department,
    as the head sees it: the figures the report module computes, nothing counted here."""
    from otklik.actor import Actor
    from regulation.profiles import load_profile
    from reports.produce import report
    from storage.tables import now

    today = load_profile(profile).calendar.local(now()).date()
    with db.session() as s:
        rep = report(s, Actor(login="demo", role="head", via="system"), profile, today, today)
    timeliness_tables = rep["sections"][0]["tables"]
    keep = ("name", "received", "answered_on_time", "answered_late", "open_overdue", "median_hours")
    return [{k: row[k] for k in keep} for table in timeliness_tables[:2] for row in table["rows"]]


def timeliness_text(rows: list[dict], profile: str = "severny") -> str:
    """A short Russian table for the end of the demo, stating its day, zone and profile as every
    report does (the definitions: `otklik report --format html`)."""
    from regulation.profiles import load_profile
    from storage.tables import now

    calendar = load_profile(profile).calendar
    head = f"{'Подразделение':<24} {'Поступило':>9} {'В срок':>7} {'Позже':>6} {'Просроч.':>8} {'Медиана, раб. ч':>15}"
    lines = [f"Своевременность за {calendar.local(now()).date():%d.%m.%Y} ({calendar.tz}, профиль {profile}; "
             "отчёт otklik report, определения показателей в нём):", head, "-" * len(head)]
    for r in rows:
        median = "—" if r["median_hours"] is None else f"{r['median_hours']:.2f}"
        lines.append(f"{str(r['name'])[:24]:<24} {r['received']:>9} {r['answered_on_time']:>7} "
                     f"{r['answered_late']:>6} {r['open_overdue']:>8} {median:>15}")
    return "\n".join(lines)
