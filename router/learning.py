"""Every correction a curator makes becomes training data for `otklik router train`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path


def record_correction(history_path: str | Path, text: str, topic_group: str, topic: str | None,
                      executor: str | None) -> None:
    path = Path(history_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    row = {"text": text, "topic_group": topic_group, "topic": topic, "executor": executor,
           "source": "curator_correction", "at": datetime.now(UTC).isoformat()}
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
