"""The deadline watcher: near-due and overdue events per step of every open case, stored as
alerts (once each), and delivery of unsent alerts to the head's Telegram chat and/or webhook."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy import select

from otklik import alerts
from otklik.services import cases
from otklik.settings import Settings
from regulation.escalation import automatic_actions, due_events
from regulation.profiles import load_profile
from storage import audit
from storage.db import Database
from storage.tables import AlertRow, CaseRow, now

log = logging.getLogger("otklik.watcher")

CLOSED = ("accepted", "closed", "dropped")
# Not read by the scan: besides the closed, a published answer waits for nothing of ours (no
# watched step, no automatic action: regulation.escalation; tests/otklik/test_watcher_scope.py).
# At 100,000 cases the published are most of them, and loading them every 30 s held the daemon.
NOTHING_DUE = (*CLOSED, "published")


class DeadlineWatcher:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    def scan(self, at: datetime | None = None) -> int:
        """One pass over the open cases at `at` (now by default; tests pin a moment inside working
        hours, since events found outside them wait for the morning)."""
        raised = 0
        t = at or now()
        with self.db.session() as s:
            for row in s.execute(select(CaseRow).where(CaseRow.state.not_in(NOTHING_DUE))).scalars():
                sent = set(row.record.get("escalations_sent", []))
                record = _record(row)
                events = due_events(record, t, load_profile(row.profile), sent)
                for ev in events:
                    if ev.deliver_at > t:
                        continue  # due, but not to be told before working hours (kept for the next scan)
                    # The case id lets the dashboard link the alert to its case.
                    alerts.add(s, ev.kind, ev.text, {**ev.model_dump(mode="json"), "case_id": row.id}, at=t)
                    audit.append(s, actor="watcher", action=ev.kind, entity="case", entity_id=row.id,
                                 data={"step": ev.step})
                    sent.add(ev.key)
                    raised += 1
                if events:
                    row.record = {**row.record, "escalations_sent": sorted(sent)}
                # Transitions that happen by themselves, e.g. the citizen's silence = accepted (004 §2.1).
                for ev in automatic_actions(_record(row), t, load_profile(row.profile)):
                    cases.apply_event(s, row, ev)
        return raised

    async def step(self) -> float:
        await asyncio.to_thread(self.scan)
        await asyncio.to_thread(self.digests)
        await self.notify()
        return self.settings.watch_interval

    def digests(self, at: datetime | None = None) -> int:
        """Each person's daily digest, once a day at their time (otklik.notify.digest)."""
        from otklik.notify import digest

        return digest.run(self.db, self.settings.profile, self.settings.link("/console/inbox"), at)

    async def notify(self) -> None:
        notify = self.settings.notify
        if not (notify.webhook_url or notify.telegram_chat_id):
            return
        from router.notify import send_alert

        with self.db.session() as s:
            pending = [(a.id, a.kind, a.text, a.data) for a in
                       s.execute(select(AlertRow).where(AlertRow.sent_at.is_(None)).limit(50)).scalars()]
        for alert_id, kind, text, data in pending:
            try:
                await send_alert(self.settings, kind=kind, text=text, data=data)
            except Exception as exc:  # delivery is retried next tick; the alert stays stored
                log.warning("alert delivery failed", extra={"alert": alert_id, "error": type(exc).__name__})
                return
            with self.db.session() as s:
                s.get(AlertRow, alert_id).sent_at = now()


def _record(row: CaseRow):
    from regulation.lifecycle import CaseRecord

    return CaseRecord.model_validate(row.record)
