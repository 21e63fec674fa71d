"""CSV, long form: one line per figure (section, table, row, measure, value), so every table of
the report fits one file and a spreadsheet can pivot it; the report's parameters and definitions
come first, as section "meta". Numbers are plain, dates ISO 8601."""

from __future__ import annotations

import csv as _csv
import io
from typing import Any

from reports.render import plain, tables
from reports.xlsx import META_LABELS


def to_csv(report: dict[str, Any]) -> bytes:
    out = io.StringIO()
    w = _csv.writer(out)
    w.writerow(["section", "table", "row", "measure", "value"])
    # First what makes every figure reproducible: the period, the zone, the profile, the definitions.
    meta = report["meta"]
    for key in META_LABELS:
        value = plain(meta.get(key))
        w.writerow(["meta", "parameters", key, "value", "" if value is None else value])
    for key, text in meta["definitions"].items():
        w.writerow(["meta", "definitions", key, "definition", text])
    for section, table in tables(report):
        first, *measures = [c[0] for c in table["columns"]]
        for row in table["rows"]:
            for m in measures:
                value = plain(row.get(m))
                w.writerow([section["key"], table["key"], plain(row.get(first)), m, "" if value is None else value])
    return out.getvalue().encode("utf-8-sig")  # the BOM: Excel reads it as UTF-8
