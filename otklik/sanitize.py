"""Making platform text storable on SQLite and PostgreSQL, keeping as much of it as possible.

What breaks a store: NUL (PostgreSQL text and JSON refuse it), lone UTF-16 surrogates (no UTF-8
encoding exists for them), NaN and infinities in JSON (PostgreSQL's json type refuses them).
Other control characters are stored fine but only confuse people and the moderation's normaliser,
so they are dropped. Pure functions; storage applies them to every text it writes.
"""

from __future__ import annotations

import math
import re
from typing import Any

REPLACEMENT = "\ufffd"
# C0 controls except \t \n \r, DEL and the C1 controls; NUL is handled apart (replaced, not dropped:
# it marks where something was).
_CONTROL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_DEPTH = 100  # deeper JSON is cut: no platform nests that far, and stores recurse on it


def clean_text(value: str) -> str:
    """NUL and lone surrogates become U+FFFD, other control characters (but tab, LF, CR) go.
    A surrogate pair that arrived as two code points is joined into the character it encodes."""
    if _SURROGATE.search(value):
        # UTF-16 round trip: pairs become their character, lone halves become U+FFFD.
        value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if "\x00" in value:
        value = value.replace("\x00", REPLACEMENT)
    return _CONTROL.sub("", value)


def clean_optional(value: str | None) -> str | None:
    return None if value is None else clean_text(value)


def clip(value: str | None, limit: int) -> str | None:
    """Clean and cut to a column's length (for display fields where a cut keeps the useful part)."""
    return None if value is None else clean_text(value)[:limit]


def clean_json(value: Any, _depth: int = 0) -> Any:
    """A copy of `value` that any JSON column stores: keys and strings cleaned, NaN and infinities
    as strings, tuples as lists, anything else not JSON as its str()."""
    if isinstance(value, str):
        return clean_text(value)
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if _depth >= MAX_DEPTH:
        return "[too deep]"
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v, _depth + 1) for v in value]
    return clean_text(str(value))
