"""Reports in the console (issue 18), reached from the head's dashboard: the report of a chosen
period in the person's scope (reports.produce, as the CLI and the API), its tables, the charts as
SVG drawn on the server (reports.html), each figure linking to the cases behind it; XLSX, CSV and
the printable page for download."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from aiohttp import web
from markupsafe import Markup

from otklik.console import app as console_app
from otklik.console import nav, session
from otklik.console.security import bad_input
from regulation.profiles import load_profile
from reports.html import _fmt as fmt_value
from reports.html import bar_chart
from reports.period import BadPeriod, instants
from reports.produce import FORMATS, render, report
from reports.render import drill, tables
from reports.xlsx import META_LABELS
from storage.tables import now

DEFAULT_DAYS = 30
DRILL_LIMIT = 200  # case links listed per figure on the page (the JSON download carries all)
DOWNLOADS = ("xlsx", "csv", "html", "json")
# The printable page keeps its own inline stylesheet and has no script at all.
PRINT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'"


def _period(request: web.Request, profile: str) -> tuple[date, date]:
    q = request.query
    if not q.get("from") and not q.get("to"):
        today = load_profile(profile).calendar.local(now()).date()
        return today - timedelta(days=DEFAULT_DAYS - 1), today
    try:
        first, last = date.fromisoformat(q.get("from", "")), date.fromisoformat(q.get("to", ""))
        instants(first, last, load_profile(profile).calendar.tz)  # the same limits the report applies
    except ValueError:
        raise bad_input("Даты периода — в виде ГГГГ-ММ-ДД, обе.") from None
    except BadPeriod:
        raise bad_input("Период задан неверно: конец раньше начала или длиннее трёх лет.") from None
    return first, last


async def _report(request: web.Request) -> tuple[dict[str, Any], date, date]:
    console, actor = console_app.of(request), request[session.ACTOR]
    first, last = _period(request, console.profile)
    department = request.query.get("department") or None
    rep = await console.run(lambda s: report(s, actor, console.profile, first, last, department=department))
    return rep, first, last


def view_of(rep: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The report as the page shows it: sections with their charts and tables (each cell's text and,
    for a count with cases behind it, the anchor of its list), and those lists."""
    sections: list[dict[str, Any]] = []
    lists: list[dict[str, Any]] = []
    current = None
    for section, table in tables(rep):
        if section is not current:
            current = section
            charts = []
            if section.get("chart") == "per_day":
                per_day = next(t for t in section["tables"] if t["key"] == "per_day")
                charts.append(bar_chart([(fmt_value(r["date"]), r["count"]) for r in per_day["rows"]]))
            if section["key"] == "timeliness":
                total = section["tables"][0]["rows"][0]
                charts.append(bar_chart([(label, total[k]) for k, label in (
                    ("answered_on_time", "в срок"), ("answered_late", "с нарушением"),
                    ("open_overdue", "просрочено"), ("not_processed", "не рассматривалось"))], width=240, height=140))
            # bar_chart escapes every label itself: the SVG is safe to insert as it is.
            sections.append({"title": section["title"], "charts": [Markup(c) for c in charts if c], "tables": []})
        rows = []
        for row in table["rows"]:
            cells = []
            for key, label in table["columns"]:
                cell = {"text": fmt_value(row.get(key)), "anchor": None, "num": isinstance(row.get(key), int | float)}
                ids = drill(row, key)
                if ids and isinstance(row.get(key), int):
                    cell["anchor"] = f"d{len(lists)}"
                    first_col = table["columns"][0][0]
                    lists.append({"anchor": cell["anchor"], "cases": section["key"] != "moderation",
                                  "label": f"{section['title']} / {table['title']} / "
                                           f"{fmt_value(row.get(first_col))} / {label}",
                                  "ids": ids[:DRILL_LIMIT], "more": max(0, len(ids) - DRILL_LIMIT)})
                cells.append(cell)
            rows.append(cells)
        sections[-1]["tables"].append({"title": table["title"], "columns": [c[1] for c in table["columns"]],
                                       "rows": rows})
    return sections, lists


async def page(request: web.Request) -> web.Response:
    console = console_app.of(request)
    rep, first, last = await _report(request)
    sections, lists = view_of(rep)
    meta = [(label, fmt_value(rep["meta"].get(key))) for key, label in META_LABELS.items()]
    return console.render(request, "reports.html", {
        "first": first, "last": last, "meta": meta, "sections": sections, "lists": lists,
        "definitions": rep["meta"]["definitions"], "downloads": DOWNLOADS,
        "department": request.query.get("department", "")})


async def download(request: web.Request) -> web.Response:
    fmt = request.match_info["format"]
    if fmt not in DOWNLOADS:
        raise web.HTTPNotFound()
    rep, first, last = await _report(request)
    body = render(rep, fmt)
    content_type, ext = FORMATS[fmt]
    headers = {"Content-Type": content_type}
    if fmt == "html":
        # The printable page links its cases to the API; in the browser the console's pages are the ones that open.
        body = body.replace(b'href="/api/cases/', b'href="/console/cases/')
        headers["Content-Security-Policy"] = PRINT_CSP
    else:
        headers["Content-Disposition"] = f'attachment; filename="otchet-{first}-{last}.{ext}"'
    return web.Response(body=body, headers=headers)


def setup(router: web.UrlDispatcher) -> None:
    router.add_get("/console/reports", page)
    router.add_get("/console/reports/file.{format}", download)
    nav.add("Отчёты", "/console/reports", {"head", "curator"})
