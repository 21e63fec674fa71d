"""The demo's live terminal view (rich), in Russian: counts per stage, the SLA, and a feed of the
latest citizens' messages with their verdicts, routes and replies."""

from __future__ import annotations

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

# The case states as staff call them.
STATES = {"identified": "у куратора", "routed": "направлено", "returned": "возвращено куратору",
          "drafting": "готовится ответ", "on_approval": "на согласовании", "revision": "на доработке",
          "approved": "согласовано", "publishing": "публикуется", "published": "ответ опубликован",
          "final_due": "ждёт окончательного ответа", "awaiting_feedback": "ждёт оценки заявителя",
          "accepted": "принято", "closed": "закрыто"}
OUTBOX = {"pending": "ждёт отправки", "enqueued": "в очереди", "sending": "отправляется",
          "posted": "опубликован", "failed": "не отправлен", "parked": "отложен", "uncertain": "проверяется"}


def _short(text: str | None, width: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


class LiveView:
    def __init__(self) -> None:
        self.console = Console(stderr=True)
        self.live = Live(console=self.console, refresh_per_second=4, transient=False)
        self.live.start()

    def __call__(self, summary: dict, elapsed: float) -> None:
        self.live.update(Group(counts(summary, elapsed), feed_table(summary.get("feed") or [])))

    def close(self) -> None:
        self.live.stop()


def counts(summary: dict, elapsed: float) -> Table:
    table = Table(title=f"otklik: демонстрация — {elapsed:5.0f} с", show_header=True, header_style="bold")
    table.add_column("этап")
    table.add_column("сколько", justify="right")
    rows = [("сообщений от жителей", summary["received"]), ("сохранено", summary["stored"]),
            ("в обработке (ещё не забрано с площадки)", summary.get("in_flight", 0)),
            ("отклонено модерацией", sum(summary["dropped"].values())), ("направлено", summary["routed"]),
            ("ответов согласовано", summary["approved"]), ("ответов опубликовано", summary["published"]),
            ("ответов на площадках", summary["replies_on_platforms"]),
            ("опубликовано дважды", summary["duplicates_posted"])]
    for name, value in rows:
        table.add_row(name, str(value))
    sla = summary["sla"]
    table.add_row("открытых обращений (срок идёт)", str(sla["open_cases"]))
    if sla["nearest_due_in_s"] is not None:
        h, m = divmod(max(0, sla["nearest_due_in_s"]) // 60, 60)
        table.add_row("  ближайший срок ответа через", f"{h} ч {m:02d} мин")
    table.add_row("  просрочено", str(sla["overdue"]))
    for reason, n in sorted(summary["dropped"].items()):
        table.add_row(f"  отклонено: {reason}", str(n))
    for state, n in sorted(summary["cases_by_state"].items()):
        table.add_row(f"  обращения: {STATES.get(state, state)}", str(n))
    return table


def feed_table(items: list[dict]) -> Table:
    table = Table(title="Последние сообщения", show_header=True, header_style="bold", expand=True)
    for name in ("площадка", "сообщение", "решение", "маршрут", "ответ"):
        table.add_column(name, overflow="fold")
    for item in items:
        if item.get("reply"):
            reply = f"{OUTBOX.get(item.get('reply_status'), item.get('reply_status'))}: {_short(item['reply'], 60)}"
        else:
            reply = STATES.get(item.get("state"), item.get("state") or "—")
        table.add_row(item["platform"], _short(item["text"], 60), item["verdict"], item["route"] or "—", reply)
    return table
