"""JSON and the shared walk over a report's tables (CSV, XLSX and HTML use it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any


def plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def to_json(report: dict[str, Any]) -> bytes:
    return json.dumps(plain(report), ensure_ascii=False, indent=1).encode()


def tables(report: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for section in report["sections"]:
        for table in section["tables"]:
            yield section, table


def drill(row: dict[str, Any], key: str) -> list[int]:
    """The ids (cases, or messages in moderation) behind one figure of a row."""
    for holder in ("cases", "messages"):
        ids = row.get(holder, {}).get(key)
        if ids is not None:
            return ids
    return []
