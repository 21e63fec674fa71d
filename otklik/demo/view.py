"""The demo's live terminal view (rich): counts per stage, replies posted, time."""

from __future__ import annotations

from rich.console import Console
from rich.live import Live
from rich.table import Table


class LiveView:
    def __init__(self) -> None:
        self.console = Console(stderr=True)
        self.live = Live(console=self.console, refresh_per_second=4, transient=False)
        self.live.start()

    def __call__(self, summary: dict, elapsed: float) -> None:
        table = Table(title=f"otklik demo — {elapsed:5.0f} s", show_header=True, header_style="bold")
        table.add_column("stage")
        table.add_column("count", justify="right")
        rows = [("citizen messages sent", summary["received"]), ("stored", summary["stored"]),
                ("dropped by moderation", sum(summary["dropped"].values())), ("routed", summary["routed"]),
                ("approved", summary["approved"]), ("published", summary["published"]),
                ("replies seen on platforms", summary["replies_on_platforms"]),
                ("posted twice", summary["duplicates_posted"]), ("lost", summary["lost"])]
        for name, value in rows:
            table.add_row(name, str(value))
        sla = summary["sla"]
        table.add_row("open cases (SLA running)", str(sla["open_cases"]))
        if sla["nearest_due_in_s"] is not None:
            h, m = divmod(max(0, sla["nearest_due_in_s"]) // 60, 60)
            table.add_row("  nearest answer due in", f"{h} h {m:02d} min")
        table.add_row("  overdue", str(sla["overdue"]))
        for reason, n in sorted(summary["dropped"].items()):
            table.add_row(f"  dropped: {reason}", str(n))
        for state, n in sorted(summary["cases_by_state"].items()):
            table.add_row(f"  cases {state}", str(n))
        self.live.update(table)

    def close(self) -> None:
        self.live.stop()
