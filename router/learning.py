"""The training history: the municipality's archive of routed messages (CSV or JSONL with `text`,
`topic_group`, `topic`, `executor`), and every correction a curator makes appended to it.

`topic_group` is one of the 26 groups. An archive whose categories are coarser than the groups
may list the alternatives — `ЖКХ|Благоустройство` in CSV, a list in JSONL; the model learns such
a list as one class and routes to the group most likely acceptable (router.model)."""

from __future__ import annotations

import csv
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError, field_validator

from otklik.exceptions import ConfigError
from router.rubricator import GROUPS

csv.field_size_limit(sys.maxsize)  # archived messages can be long

# In the var dir: curators' corrections, appended by the pipeline or the console; the running
# router's memory (router.corrections) and training rows for `otklik router train --corrections`.
CORRECTIONS_FILE = "router_corrections.jsonl"


class HistoryRow(BaseModel):
    text: str = Field(min_length=1)
    topic_group: tuple[str, ...]
    topic: str | None = None
    executor: str | None = None

    @field_validator("topic_group", mode="before")
    @classmethod
    def _alternatives(cls, v: object) -> object:
        if isinstance(v, str):
            return tuple(p.strip() for p in v.split("|") if p.strip())
        return v

    @field_validator("topic_group")
    @classmethod
    def _known(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("empty")
        unknown = [g for g in v if g not in GROUPS]
        if unknown:
            raise ValueError(f"not one of the 26 topic groups: {unknown}")
        return v

    @field_validator("topic", "executor", mode="before")
    @classmethod
    def _blank_is_none(cls, v: object) -> object:
        return None if v == "" else v


def read_history(path: str | Path) -> list[HistoryRow]:
    """Every row validated; the first bad one is reported with its line number."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: history file not found")
    rows: list[HistoryRow] = []
    try:
        with path.open(encoding="utf-8", newline="") as f:
            if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
                for n, line in enumerate(f, 1):
                    if line.strip():
                        rows.append(_row(path, n, _json(path, n, line)))
            else:
                reader = csv.DictReader(f)
                missing = {"text", "topic_group"} - set(reader.fieldnames or ())
                if missing:
                    raise ConfigError(f"{path}:1: CSV header lacks {sorted(missing)}")
                for record in reader:
                    rows.append(_row(path, reader.line_num, record))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if not rows:
        raise ConfigError(f"{path}: no messages")
    return rows


def _json(path: Path, n: int, line: str) -> object:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{n}: not JSON: {exc.msg}") from None


def _row(path: Path, n: int, record: object) -> HistoryRow:
    try:
        return HistoryRow.model_validate(record)
    except ValidationError as exc:
        e = exc.errors()[0]
        where = ".".join(str(p) for p in e["loc"]) or "row"
        raise ConfigError(f"{path}:{n}: {where}: {e['msg']}") from None


def record_correction(
    history_path: str | Path, text: str, topic_group: str, topic: str | None, executor: str | None
) -> None:
    """Append a curator's correction to the history JSONL in the training format. One write of
    one line in append mode, so concurrent writers do not interleave inside a line."""
    row = HistoryRow(text=text, topic_group=topic_group, topic=topic, executor=executor)
    record = {
        "text": row.text,
        "topic_group": row.topic_group[0],
        "topic": row.topic,
        "executor": row.executor,
        "source": "curator_correction",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path = Path(history_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
