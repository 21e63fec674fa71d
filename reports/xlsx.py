"""XLSX (openpyxl): a sheet with the period, zone, profile and definitions, then one sheet per
section with its tables one under another. Numbers are numbers and dates are dates, not strings."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

BOLD = Font(bold=True)
META_LABELS = {"municipality": "Муниципалитет", "profile": "Профиль регламента", "document": "Документ",
               "timezone": "Часовой пояс", "from": "Период с", "to": "Период по", "as_of": "Состояние на",
               "generated_at": "Сформирован", "department": "Подразделение", "source": "Источник",
               "scope": "Охват", "cases": "Случаев"}


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)  # Excel keeps no zone: local time, the zone is on the first sheet
    return value


def to_xlsx(report: dict[str, Any]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Параметры"
    meta = report["meta"]
    ws.append([meta["title"]])
    ws["A1"].font = BOLD
    for key, label in META_LABELS.items():
        ws.append([label, _cell(meta.get(key))])
        if isinstance(meta.get(key), datetime):
            ws.cell(ws.max_row, 2).number_format = "yyyy-mm-dd hh:mm"
        elif isinstance(meta.get(key), date):
            ws.cell(ws.max_row, 2).number_format = "yyyy-mm-dd"
    ws.append([])
    ws.append(["Определения"])
    ws.cell(ws.max_row, 1).font = BOLD
    for key, text in meta["definitions"].items():
        ws.append([key, text])
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 100
    for section in report["sections"]:
        sheet = wb.create_sheet(section["title"][:31])
        for table in section["tables"]:
            sheet.append([table["title"]])
            sheet.cell(sheet.max_row, 1).font = BOLD
            keys = [c[0] for c in table["columns"]]
            sheet.append([c[1] for c in table["columns"]])
            # cells addressed by the row number kept here: sheet.max_row is cheap, but sheet[n] walks
            # every cell of the sheet for its width (0.7 s on a quarter's report)
            header = sheet.max_row
            for col in range(1, len(keys) + 1):
                sheet.cell(header, col).font = BOLD
            for n, row in enumerate(table["rows"], start=header + 1):
                values = [_cell(row.get(k)) for k in keys]
                sheet.append(values)
                for col, value in enumerate(values, start=1):
                    if isinstance(value, datetime | date):
                        sheet.cell(n, col).number_format = "yyyy-mm-dd"
            sheet.append([])
        sheet.column_dimensions["A"].width = 40
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
