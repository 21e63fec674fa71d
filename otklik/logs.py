"""JSON logs on stderr (standard library only). Personal data stays out: we log ids, never texts
or author names, and anything that looks like a token is masked."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

_TOKENISH = re.compile(r"(bot\d+:[A-Za-z0-9_-]{20,}|access_token=[^&\s\"]+|[A-Fa-f0-9]{40,}|vk1\.a\.[\w-]+)")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def mask(text: str) -> str:
    return _TOKENISH.sub("***", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
               "level": record.levelname.lower(), "logger": record.name, "msg": mask(record.getMessage())}
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = mask(value) if isinstance(value, str) else value
        if record.exc_info:
            out["exc"] = mask(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False, default=str)


def setup(level: str = "INFO", stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "aiohttp.access", "rq.worker", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
