"""The report scheduler: the reports each profile owes (`reports:` in regulation/profiles/*.yaml:
monthly, quarterly, weekly …) and the missed-deadline report to the head where a channel requires
one (`overdue_report_to_head`), each produced ONCE per period, restarts or not: a `report_runs` row
with the unique (kind, period) key is claimed in its own transaction first, and only the process
whose claim commits builds and delivers the report. Delivery: e-mail with the XLSX to every active
head with an address (otklik.mail), and a short Russian summary as an alert, which the deadline
watcher's notifier sends to the head's Telegram chat / webhook like every other alert."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from otklik import alerts, mail
from otklik.actor import Actor
from otklik.settings import Settings
from regulation.profiles import Profile, load_profile
from reports import compute
from reports.period import last_complete
from reports.produce import report
from reports.xlsx import to_xlsx
from storage.db import Database
from storage.tables import CaseRow, ReportRunRow, UserRow, now

log = logging.getLogger("otklik.reporter")
REPORTER = Actor(login="reporter", role="head", via="system")  # sees what the head sees
INTERVAL = 300.0  # seconds between checks: a period's report goes out within minutes of its end
ANSWERED_OR_CLOSED = ("published", "awaiting_feedback", "accepted", "closed", "dropped")
EVERY_RU = {"day": "день", "week": "неделю", "month": "месяц", "quarter": "квартал"}


@dataclass(frozen=True)
class Due:
    kind: str  # periodic:<every> | overdue
    period: str
    first: date
    last: date
    name: str
    clause: str | None


def due(profile: Profile, today: date) -> list[Due]:
    """What is owed on local date `today` (pure): the latest complete period of each obligation, and
    on working days the day's missed-deadline report where the regulation asks for one."""
    out = []
    for r in profile.reports:
        key, first, last = last_complete(r.every, today)
        out.append(Due(f"periodic:{r.every}", key, first, last, r.name, r.clause))
    clauses = [c.overdue_report_to_head.clause for c in profile.channels.values() if c.overdue_report_to_head]
    if clauses and profile.calendar.is_working_day(today):
        out.append(Due("overdue", today.isoformat(), today, today, "missed deadlines", "; ".join(sorted(set(clauses)))))
    return out


class ReportScheduler:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.profile = load_profile(settings.profile)

    def claim(self, d: Due) -> bool:
        """True for the one caller whose claim of (kind, period) commits."""
        with self.db.session() as s:
            if s.execute(select(ReportRunRow.id).where(ReportRunRow.kind == d.kind,
                                                       ReportRunRow.period == d.period)).first():
                return False
        try:
            with self.db.session() as s:
                s.add(ReportRunRow(kind=d.kind, period=d.period, claimed_at=now()))
        except IntegrityError:  # another process claimed it between the check and the insert
            return False
        return True

    def build(self, d: Due) -> tuple[str, str, list[str], bytes | None, dict]:
        """(subject, text, recipients, xlsx or None, summary), in one read transaction."""
        with self.db.session() as s:
            recipients = [u.email for u in s.execute(select(UserRow).where(
                UserRow.active.is_(True), UserRow.email.is_not(None))).scalars()
                if "head" in {u.role, *(u.roles or ())}]
            if d.kind == "overdue":
                text, summary = self._overdue(s)
                return f"Нарушенные сроки на {d.first:%d.%m.%Y}", text, recipients, None, summary
            rep = report(s, REPORTER, self.profile.name, d.first, d.last)
        summary = compute.summary(rep)
        text = (f"{self.profile.municipality}: отчёт за {EVERY_RU.get(d.kind.split(':')[-1], 'период')} "
                f"{d.first:%d.%m.%Y}–{d.last:%d.%m.%Y} ({d.clause or d.name}). Поступило {summary['received']}, "
                f"отвечено в срок {summary['answered_on_time']}, с нарушением срока {summary['answered_late']}, "
                f"не отвечено при истёкшем сроке {summary['open_overdue']}"
                + (f", медиана {summary['median_hours']:.1f} раб. ч." if summary['median_hours'] is not None else "."))
        # The notify channels carry only this summary: the link opens the full report (printable HTML)
        # for whoever logs in with the right to read it.
        link = self.settings.link(f"/api/reports?from={d.first.isoformat()}&to={d.last.isoformat()}&format=html")
        text += f" Полный отчёт: {link}"
        return f"Отчёт за {d.first:%d.%m.%Y}–{d.last:%d.%m.%Y}", text, recipients, to_xlsx(rep), summary

    def _overdue(self, s) -> tuple[str, dict]:
        t = now()
        rows = s.execute(select(CaseRow.id, CaseRow.topic_group).where(
            CaseRow.state.not_in(ANSWERED_OR_CLOSED), CaseRow.answer_by < t)).all()
        ids = sorted(r.id for r in rows)
        listed = ", ".join(f"№{i}" for i in ids[:30]) + (f" и ещё {len(ids) - 30}" if len(ids) > 30 else "")
        text = (f"{self.profile.municipality}: случаев с нарушенным сроком ответа — {len(ids)}"
                + (f": {listed}." if ids else "."))
        return text, {"overdue": len(ids), "cases": ids}

    async def deliver(self, d: Due, subject: str, text: str, recipients: list[str], xlsx: bytes | None,
                      summary: dict) -> list[str]:
        sent, errors = [], []
        if self.settings.mail.enabled:
            attachments = [mail.Attachment(f"otchet-{d.period}.xlsx", xlsx, "application/vnd.openxmlformats-"
                                           "officedocument.spreadsheetml.sheet")] if xlsx else []
            for to in recipients:
                msg = mail.build(self.settings.mail, to=to, subject=subject, body=text, attachments=attachments)
                try:
                    await mail.send(self.settings.mail, msg)
                    sent.append(to)
                except mail.MailError as exc:
                    errors.append(str(exc))
                    log.warning("report e-mail failed", extra={"kind": d.kind, "period": d.period,
                                                               "error": str(exc)})
        with self.db.session() as s:
            if d.kind != "overdue" or summary.get("overdue"):
                alerts.add(s, "report" if d.kind != "overdue" else "overdue_report", text,
                           {"kind": d.kind, "period": d.period, **{k: v for k, v in summary.items() if k != "cases"}})
            row = s.execute(select(ReportRunRow).where(ReportRunRow.kind == d.kind,
                                                       ReportRunRow.period == d.period)).scalar_one()
            row.delivered_at = now()
            row.recipients = sent
            row.summary = summary
            row.error = "; ".join(errors)[:300] or None
        log.info("report produced", extra={"kind": d.kind, "period": d.period, "emails": len(sent)})
        return sent

    async def run_due(self, at: datetime | None = None) -> list[Due]:
        today = self.profile.calendar.local(at or now()).date()
        done = []
        for d in due(self.profile, today):
            if not await asyncio.to_thread(self.claim, d):
                continue
            built = await asyncio.to_thread(self.build, d)
            await self.deliver(d, *built)
            done.append(d)
        return done

    async def step(self) -> float:
        await self.run_due()
        return INTERVAL
