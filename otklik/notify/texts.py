"""What a note says (pure): short Russian, the case number, its topic, the deadline in the
municipality's local time with the zone, and the console link. Never the citizen's name, contacts
or words: a note may travel by e-mail or a chat, and only the console shows the message itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from otklik.notify.channels.base import Note

SUBJECTS = {
    "assigned": "Вам назначено обращение №{id}",
    "returned": "Обращение №{id} возвращено куратору",
    "reopened": "Обращение №{id} снова в работе",
    "sent_back": "Проект ответа по обращению №{id} возвращён на доработку",
    "draft_waiting": "Проект ответа по обращению №{id} ждёт согласования",
    "near_due": "Истекает срок по обращению №{id}",
    "overdue": "Просрочен срок по обращению №{id}",
    "term_needed": "Нужно согласовать срок по обращению №{id}",
    "high_importance": "Обращение №{id} высокой важности",
    "significant": "Социально значимое сообщение",
    "spike": "Повышенная активность",
    "overdue_report": "Нарушенные сроки",
    "report": "Отчёт",
    "dismissal": "Увольнение сотрудника",
}
LEADS = {
    "assigned": "Обращение передано вашему подразделению.",
    "returned": "Исполнитель вернул обращение как не относящееся к его компетенции: нужно перенаправить.",
    "reopened": "Обращение вернулось в работу: нужен новый ответ.",
    "sent_back": "Согласующий вернул проект ответа на доработку.",
    "draft_waiting": "Проект ответа готов и ждёт вашего решения.",
    "high_importance": "Сообщение высокой важности: доклад руководителю.",
}


@dataclass(frozen=True)
class CaseInfo:
    id: int
    topic: str | None
    due: datetime | None
    importance: str = "normal"


def local_time(at: datetime, tz: ZoneInfo) -> str:
    """"08.12.2026 17:00 MSK", or "… UTC+12" where the zone has no letters (Kamchatka)."""
    local = at.astimezone(tz)
    name = local.tzname() or ""
    if name[:1] in "+-":
        name = f"UTC{name}"
    return f"{local:%d.%m.%Y %H:%M} {name}".strip()


def case_note(kind: str, case: CaseInfo, tz: ZoneInfo, link: str, *, urgent: bool = False,
              detail: str | None = None, standing_in_for: str | None = None) -> Note:
    lines = [LEADS.get(kind, "")] if kind in LEADS else []
    if detail:
        lines.append(detail)
    lines.append(f"Обращение №{case.id}" + (f": {case.topic}" if case.topic else "") + ".")
    if case.due is not None:
        lines.append(f"Срок ответа: {local_time(case.due, tz)}.")
    if case.importance == "high" and kind != "high_importance":
        lines.append("Высокая важность.")
    if standing_in_for:
        lines.append(f"Вы замещаете сотрудника {standing_in_for}.")
    subject = SUBJECTS.get(kind, "Уведомление по обращению №{id}").format(id=case.id)
    return Note(subject=subject, text="\n".join(lines), link=link, urgent=urgent)


def alert_note(kind: str, text: str, link: str | None, *, urgent: bool = False,
               standing_in_for: str | None = None) -> Note:
    """An alert already carries its Russian text (router.spikes, the watcher, the reporter)."""
    body = text[:1].upper() + text[1:] if text else ""
    if standing_in_for:
        body += f"\nВы замещаете сотрудника {standing_in_for}."
    return Note(subject=SUBJECTS.get(kind, "Уведомление").format(id=""), text=body, link=link, urgent=urgent)


def digest_note(day: datetime, lines: list[str], link: str) -> Note:
    head = f"Сводка на {day:%d.%m.%Y}: сроки на сегодня и завтра, просроченные."
    return Note(subject=f"Сводка сроков на {day:%d.%m.%Y}", text="\n".join([head, *lines]), link=link)
