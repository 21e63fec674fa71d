"""Reading JSON from strangers (webhook deliveries, API bodies) without ever failing with anything
but `BadJson`: strict UTF-8, no NaN/Infinity, a nesting limit, no NUL or lone surrogates in strings.

The standard parser raises RecursionError on deeply nested input and accepts `"\\u0000"` and
`"\\ud800"`, which later break the database or the UTF-8 encoder; here all of that is a 400.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 32
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")


class BadJson(ValueError):
    """The body is not JSON we accept; the message is safe to show and to log (no content)."""


def _no_constants(name: str) -> Any:
    raise BadJson(f"{name} is not a JSON number")


def bad_text(value: str) -> bool:
    """NUL or a lone surrogate: neither survives PostgreSQL or UTF-8."""
    return _BAD_CHARS.search(value) is not None


def check(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Depth and string checks over an already parsed value, iteratively (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > max_depth:
                raise BadJson(f"JSON nested deeper than {max_depth} levels")
            for key, child in item.items():
                if bad_text(key):
                    raise BadJson("a JSON key holds a NUL character or a lone surrogate")
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            if depth > max_depth:
                raise BadJson(f"JSON nested deeper than {max_depth} levels")
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str) and bad_text(item):
            raise BadJson("a JSON string holds a NUL character or a lone surrogate")


def loads(body: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse and check; any problem is a BadJson with a short reason."""
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadJson("body is not UTF-8") from None
    else:
        text = body
    try:
        value = json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        raise BadJson(f"JSON nested deeper than {max_depth} levels") from None
    except BadJson:
        raise
    except ValueError as exc:  # JSONDecodeError, and ints longer than Python's digit limit
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "a number too long"
        raise BadJson(f"body is not JSON: {reason}") from None
    check(value, max_depth)
    return value


def dumps(value: Any) -> str:
    """What we answer: UTF-8 text as is, no \\u escapes."""
    return json.dumps(value, ensure_ascii=False)
