"""A printable HTML page in Russian, rendered on the server: tables, charts as inline SVG, no
script and nothing loaded from elsewhere. Every count links to the list of cases behind it (an
appendix at the end of the page, each case linking to /api/cases/ID). Text is escaped."""

from __future__ import annotations

from datetime import date, datetime
from html import escape
from typing import Any

from reports.render import drill, tables
from reports.xlsx import META_LABELS

DRILL_LIMIT = 200  # ids listed per figure on the page; the JSON carries all of them
CSS = """body{font-family:sans-serif;font-size:11pt;margin:1.5em}table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #999;padding:2px 6px;text-align:right}td:first-child,th{text-align:left}
h2{page-break-before:auto;border-bottom:2px solid #333}dl.defs dt{font-weight:bold}a{color:inherit}
@media print{a{text-decoration:none}}"""


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, float):
        return f"{value:.2f}".replace(".", ",")
    return str(value)


def bar_chart(points: list[tuple[str, int]], *, width: int = 720, height: int = 180) -> str:
    """Vertical bars with the first and last labels; an SVG string."""
    if not points:
        return ""
    top = max(v for _, v in points) or 1
    step = width / len(points)
    bars = []
    for i, (label, v) in enumerate(points):
        h = (height - 30) * v / top
        bars.append(f'<rect x="{i * step + 1:.1f}" y="{height - 20 - h:.1f}" width="{max(step - 2, 1):.1f}" '
                    f'height="{h:.1f}" fill="#4a78a8"><title>{escape(label)}: {v}</title></rect>')
    labels = (f'<text x="0" y="{height - 5}" font-size="10">{escape(points[0][0])}</text>'
              f'<text x="{width}" y="{height - 5}" font-size="10" text-anchor="end">{escape(points[-1][0])}</text>'
              f'<text x="0" y="10" font-size="10">макс. {top}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">'
            + "".join(bars) + labels + "</svg>")


def to_html(report: dict[str, Any]) -> bytes:
    meta = report["meta"]
    parts = [f"<!doctype html><html lang=\"ru\"><head><meta charset=\"utf-8\"><title>{escape(meta['title'])}</title>"
             f"<style>{CSS}</style></head><body><h1>{escape(meta['title'])}</h1><table>"]
    for key, label in META_LABELS.items():
        parts.append(f"<tr><th>{escape(label)}</th><td>{escape(_fmt(meta.get(key)))}</td></tr>")
    parts.append("</table>")
    appendix: list[str] = []
    current = None
    for section, table in tables(report):
        if section is not current:
            current = section
            parts.append(f"<h2>{escape(section['title'])}</h2>")
            if section.get("chart") == "per_day":
                per_day = next(t for t in section["tables"] if t["key"] == "per_day")
                parts.append(bar_chart([(_fmt(r["date"]), r["count"]) for r in per_day["rows"]]))
            if section["key"] == "timeliness":
                total = section["tables"][0]["rows"][0]
                parts.append(bar_chart([(label, total[k]) for k, label in (
                    ("answered_on_time", "в срок"), ("answered_late", "с нарушением"),
                    ("open_overdue", "просрочено"), ("not_processed", "не рассматривалось"))], width=240, height=140))
        parts.append(f"<h3>{escape(table['title'])}</h3><table><tr>")
        parts.extend(f"<th>{escape(label)}</th>" for _, label in table["columns"])
        parts.append("</tr>")
        for row in table["rows"]:
            parts.append("<tr>")
            for key, _ in table["columns"]:
                text = escape(_fmt(row.get(key)))
                ids = drill(row, key)
                if ids and isinstance(row.get(key), int):
                    anchor = f"d{len(appendix)}"
                    appendix.append(_appendix_entry(anchor, section, table, row, key, ids))
                    text = f'<a href="#{anchor}">{text}</a>'
                parts.append(f"<td>{text}</td>")
            parts.append("</tr>")
        parts.append("</table>")
    parts.append("<h2>Определения показателей</h2><dl class=\"defs\">")
    for key, text in meta["definitions"].items():
        parts.append(f"<dt>{escape(key)}</dt><dd>{escape(text)}</dd>")
    parts.append("</dl><h2>Случаи за показателями</h2>")
    parts.extend(appendix)
    parts.append("</body></html>")
    return "".join(parts).encode()


def _appendix_entry(anchor: str, section, table, row, key: str, ids: list[int]) -> str:
    first = table["columns"][0][0]
    label = dict(table["columns"]).get(key, key)
    kind = "messages" if section["key"] == "moderation" else "cases"
    shown = ids[:DRILL_LIMIT]
    if kind == "cases":
        links = ", ".join(f'<a href="/api/cases/{i}">{i}</a>' for i in shown)
    else:
        links = ", ".join(str(i) for i in shown)
    more = f" … и ещё {len(ids) - len(shown)} (полный список — в JSON)" if len(ids) > len(shown) else ""
    return (f'<p id="{anchor}"><b>{escape(section["title"])} / {escape(table["title"])} / '
            f'{escape(_fmt(row.get(first)))} / {escape(label)}</b>: {links}{more}</p>')
