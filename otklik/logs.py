"""JSON logs on stderr (standard library only). Personal data stays out: we log ids, never texts
or author names, and anything that looks like a token is masked.

Exceptions are where texts sneak in: a database error quotes the failing row ("Failing row
contains (…, 'Анна', 'текст')"), a validation error its input. Those are logged as their class and
a safe first line — the traceback's frames stay, the data does not — wherever they appear: exc_info
(the whole chain), the message's %-arguments and `extra` values.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

_TOKENISH = re.compile(r"(bot\d+:[A-Za-z0-9_-]{20,}|access_token=[^&\s\"]+|[A-Fa-f0-9]{40,}|vk1\.a\.[\w-]+)")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


_DRIVERS = ("sqlite3", "psycopg", "psycopg2", "asyncpg", "sqlalchemy")
# A value quoted at the end of a driver's first line: `invalid input syntax for type integer: "…"`.
_QUOTED_VALUE = re.compile(r""":\s*(["']).*\1\s*$""")


def mask(text: str) -> str:
    return _TOKENISH.sub("***", text)


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return _QUOTED_VALUE.sub(': "***"', line)


def safe_message(exc: BaseException) -> str:
    """An exception's message without the data it may quote: database errors keep their first line
    (the kind of violation, the constraint) and the SQL, never the row or the parameters; validation
    errors keep where and what, never the input."""
    module = type(exc).__module__ or ""
    if module.split(".")[0] == "sqlalchemy":
        orig = getattr(exc, "orig", None)
        head = f"({type(orig).__module__}.{type(orig).__name__}) {_first_line(str(orig))}" if orig else ""
        statement = getattr(exc, "statement", None)
        sql = f" [SQL: {' '.join(statement.split())[:300]}]" if statement else ""
        return head + sql if head or sql else type(exc).__name__
    if module.split(".")[0] in _DRIVERS:
        return _first_line(str(exc))
    if module.startswith("pydantic") and hasattr(exc, "errors"):
        try:
            errors = exc.errors(include_input=False)
        except TypeError:
            errors = []
        return "; ".join(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('type')}" for e in errors)
    return mask(str(exc))


def format_exception(exc: BaseException) -> str:
    """Like traceback.format_exception over the whole chain, with safe messages."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not c for c in chain):
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    parts = []
    for e in reversed(chain):
        frames = "".join(traceback.format_tb(e.__traceback__))
        name = type(e).__qualname__ if type(e).__module__ == "builtins" else f"{type(e).__module__}.{type(e).__qualname__}"
        message = safe_message(e)
        parts.append(f"Traceback (most recent call last):\n{frames}{name}{': ' + message if message else ''}")
    return "\n\nwhich caused:\n".join(parts)


def _safe_value(value: Any) -> Any:
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {safe_message(value)}"
    return mask(value) if isinstance(value, str) else value


def _message(record: logging.LogRecord) -> str:
    msg = str(record.msg)
    args = record.args
    if not args:
        return msg
    try:
        if isinstance(args, dict):
            return msg % {k: _safe_value(v) for k, v in args.items()}
        return msg % tuple(_safe_value(a) for a in args)
    except (TypeError, ValueError, KeyError):
        return msg


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
               "level": record.levelname.lower(), "logger": record.name, "msg": mask(_message(record))}
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = _safe_value(value)
        if record.exc_info and record.exc_info[1] is not None:
            out["exc"] = mask(format_exception(record.exc_info[1]))
        elif record.exc_info:
            out["exc"] = mask(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False, default=str)


_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def parse_levels(spec: str) -> dict[str, str]:
    """`pipeline=DEBUG,poller=WARNING` -> {"otklik.pipeline": "DEBUG", "otklik.poller": "WARNING"}.
    A name without a dot is one of ours (`otklik.<name>`); a dotted one is a logger's full name
    (`rq.worker`). Raises ValueError with the offending part."""
    out: dict[str, str] = {}
    for part in (p.strip() for p in spec.replace(";", ",").split(",")):
        if not part:
            continue
        name, sep, level = part.partition("=")
        name, level = name.strip(), level.strip().upper()
        if not sep or not name:
            raise ValueError(f"{part!r}: expected component=LEVEL, e.g. pipeline=DEBUG")
        if level not in _LEVELS:
            raise ValueError(f"{part!r}: the level must be one of {', '.join(_LEVELS)}")
        out[name if "." in name else f"otklik.{name}"] = level
    return out


def setup(level: str = "INFO", stream=None, levels: str = "") -> None:
    """JSON lines on stderr at `level`; `levels` sets components apart (see parse_levels)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # sqlalchemy: its INFO is every statement (texts in the parameters), whatever the root level.
    for noisy in ("httpx", "httpcore", "aiohttp.access", "rq.worker", "alembic", "sqlalchemy"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for name, lvl in parse_levels(levels).items():
        logging.getLogger(name).setLevel(lvl)
