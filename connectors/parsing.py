"""Total parsing: what every connector's mapping and poll path share so that no platform answer,
however broken, escapes as a Python exception (which would stall the source: the poller retries
the same batch forever).

Two tools, one for each granularity:

- `reading(platform, what)` / `@total(platform)` around code that reads a *whole* payload: the
  exceptions that broken data provokes (KeyError, TypeError, ValueError, pydantic's
  ValidationError, OverflowError, RecursionError, ...) become `Malformed`, our classified error.
  The message names the exception type and the function, never the data (it reaches logs and the
  source state).
- `map_each(items, fn, ...)` for the *items* of a payload that is otherwise good: each item is
  mapped on its own, and one that fails goes to `Batch.rejected` as a `Rejected` (its raw item,
  a short reason, its external id when one is known) while the rest of the batch and the cursor
  move on. Every mapped `Message` is also checked to serialize (lone surrogates and NUL characters
  survive JSON escapes but not the database).
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import traceback
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from connectors.errors import Malformed
from otklik.models import Message, Rejected, StatusChange
from otklik.sanitize import clean_json

# What broken data provokes in plain Python mapping code. pydantic's ValidationError and
# UnicodeError are ValueErrors, KeyError and IndexError LookupErrors, OverflowError and
# ZeroDivisionError ArithmeticErrors. Nothing else is caught: a bug of another kind stays loud.
UNREADABLE: tuple[type[BaseException], ...] = (
    LookupError,
    TypeError,
    ValueError,
    AttributeError,
    ArithmeticError,
    RecursionError,
)
MAX_RAW_DEPTH = 64  # a rejected item is kept for a person to look at, not a stack-breaking tree

# Set while a `total` function or `map_each` runs: their results are checked by the outermost one.
_checking: ContextVar[bool] = ContextVar("otklik_parsing_checking", default=False)

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def where(exc: BaseException) -> str:
    """`TypeError in map_message (mapping.py:97)`: the innermost frame of the exception, with
    no value from the data (an int() of a citizen's text would quote the text)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    # The innermost frame of a connector, when there is one (a ValidationError's last frame is
    # pydantic's own __init__, which says less than the line that built the model).
    ours = [f for f in frames if Path(f.filename).name != "parsing.py" and "connectors" in (
        Path(f.filename).parent.name, Path(f.filename).parent.parent.name)]
    f = (ours or frames)[-1]
    return f"{type(exc).__name__} in {f.name} ({Path(f.filename).parent.name}/{Path(f.filename).name}:{f.lineno})"


def malformed(exc: BaseException, platform: str, what: str) -> Malformed:
    return Malformed(f"{what}: unreadable payload ({where(exc)})", platform=platform)


@contextmanager
def reading(platform: str, what: str):
    """Read a whole platform answer: broken data raises Malformed, our own errors pass as they are."""
    try:
        yield
    except UNREADABLE as exc:
        raise malformed(exc, platform, what) from None


def total(platform: str) -> Callable[[F], F]:
    """Decorator form of `reading` for a function or coroutine function that reads a payload."""

    def wrap(fn: F) -> F:
        what = fn.__qualname__
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kw: Any) -> Any:
                try:
                    return await fn(*args, **kw)
                except UNREADABLE as exc:
                    raise malformed(exc, platform, what) from None

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kw: Any) -> Any:
            # Inline rather than `with reading(...)`: this runs for every item of every poll.
            outermost = not _checking.get()
            token = _checking.set(True)
            try:
                result = fn(*args, **kw)
                if outermost:  # what an inner call returns is checked once, by its outermost caller
                    result = check_all(result)
                return result
            except UNREADABLE as exc:
                raise malformed(exc, platform, what) from None
            finally:
                _checking.reset(token)

        return wrapper  # type: ignore[return-value]

    return wrap


def check_result(result: Any) -> Any:
    """A mapped Message (or StatusChange) must be storable. Text is sanitised on the way in: a result
    whose strings hold NUL or lone surrogates comes back rebuilt with them replaced
    (otklik.sanitize), so the citizen's message is kept rather than set aside; one that still does
    not serialize (a tree too deep) raises, and its item is rejected."""
    if not isinstance(result, BaseModel):
        return result
    try:
        if "\\u0000" not in result.model_dump_json():
            return result
    except ValueError:  # PydanticSerializationError: lone surrogates, or a tree too deep
        pass
    cleaned = type(result).model_validate(clean_json(result.model_dump(mode="json")))
    cleaned.model_dump_json()  # still unserializable: let the caller reject the item
    return cleaned


def check_all(result: Any) -> Any:
    """`check_result` of a result, or of each member of a list or tuple of them (one level deep:
    mapping functions return a Message, a list of them, or a pair of lists), in the same shape."""
    if isinstance(result, list | tuple):
        out = [[check_result(x) for x in r] if isinstance(r, list | tuple) else check_result(r) for r in result]
        return out if isinstance(result, list) else tuple(out)
    return check_result(result)


def map_each(
    items: Iterable[Any],
    fn: Callable[[Any], Iterable[T] | T | None],
    *,
    platform: str,
    id_of: Callable[[Any], Any] | None = None,
    rejected: list[Rejected],
) -> list[T]:
    """Map each item with `fn` (which returns one result, None, or a list of results); an item
    that fails is appended to `rejected` and the others go on."""
    out: list[T] = []
    for item in items:
        token = _checking.set(True)  # the results are checked here, not again inside `fn`
        try:
            got = fn(item)
            results = [] if got is None else list(got) if isinstance(got, list | tuple) else [got]
            results = [check_result(r) for r in results]
        except Malformed as exc:
            rejected.append(reject(item, str(exc), id_of))
            continue
        except UNREADABLE as exc:
            rejected.append(reject(item, where(exc), id_of))
            continue
        finally:
            _checking.reset(token)
        out += results
    return out


def by_readable_id(items: Iterable[Any], rejected: list[Rejected], what: str) -> dict[Any, Any]:
    """The items of a feed page keyed by their `id`, one per id (a re-delivered item counts once);
    an item without a readable id goes to `rejected` as "<what> without a readable id"."""
    out: dict[Any, Any] = {}
    for item in items:
        key = item.get("id") if isinstance(item, dict) else None
        if not isinstance(key, int | str) or isinstance(key, bool):
            rejected.append(reject(item, f"{what} without a readable id"))
            continue
        out[key] = item
    return out


def messages_and_changes(records: Iterable[Any]) -> tuple[list[Message], list[StatusChange]]:
    """Splits what `map_each` made of a page into messages and status changes; a status change
    seen twice (the same item, status and time) counts once."""
    messages: list[Message] = []
    changes: dict[tuple[str, str, datetime], StatusChange] = {}
    for x in records:
        if isinstance(x, Message):
            messages.append(x)
        else:
            changes[(x.external_id, x.status, x.at)] = x
    return messages, list(changes.values())


def reject(item: Any, reason: str, id_of: Callable[[Any], Any] | None = None) -> Rejected:
    external_id = None
    if id_of is not None:
        try:
            got = id_of(item)
            external_id = safe_text(str(got)[:200]) if got is not None else None
        except UNREADABLE:
            external_id = None
    return Rejected(raw=safe_raw(item), reason=safe_text(reason)[:300], external_id=external_id)


def safe_text(s: str) -> str:
    """Lone surrogates and NUL out of a string, so it can be stored and printed."""
    if "\x00" in s:
        s = s.replace("\x00", "")
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        s = s.encode("utf-8", "replace").decode("utf-8")
    return s


def safe_raw(value: Any, depth: int = 0) -> Any:
    """A JSON-storable copy of a rejected item: strings cleaned, depth capped, odd values as text."""
    if depth > MAX_RAW_DEPTH:
        return "…"
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else str(value)
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, dict):
        return {safe_text(str(k)): safe_raw(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [safe_raw(v, depth + 1) for v in value]
    return safe_text(repr(value))[:200]


def integer(value: Any, *, lo: int = -(2**63), hi: int = 2**63 - 1) -> int:
    """An integer field (JSON number or digit string) within [lo, hi]; ValueError otherwise.
    int() alone takes 1.9 for 1, True for 1, "  7 " for 7 and 10**400 for a number."""
    if type(value) is int and lo <= value <= hi:  # the usual case, first
        return value
    if isinstance(value, bool) or value is None:
        raise ValueError("not an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("not an integer")
        value = int(value)
    elif isinstance(value, str):
        if not re.fullmatch(r"-?[0-9]{1,19}", value.strip()):
            raise ValueError("not an integer")
        value = int(value)
    elif not isinstance(value, int):
        raise TypeError("not an integer")
    if not lo <= value <= hi:
        raise ValueError("an integer out of range")
    return value


# Unix times a platform may send: from 1970 to the year 2200 (fromtimestamp's own limits depend
# on the C library and raise OverflowError, ValueError or OSError).
MAX_UNIX = 7_258_118_400


def unix_time(value: Any) -> datetime:
    """A Unix timestamp in seconds -> aware UTC datetime; ValueError when it is not one."""
    return datetime.fromtimestamp(integer(value, lo=0, hi=MAX_UNIX), UTC)


def unix_ms(value: Any) -> datetime:
    return datetime.fromtimestamp(integer(value, lo=0, hi=MAX_UNIX * 1000) / 1000, UTC)


def iso_time(value: Any) -> datetime:
    """An ISO 8601 string ("Z" allowed; naive is UTC) -> aware UTC datetime; ValueError otherwise."""
    if not isinstance(value, str) or len(value) > 64:
        raise ValueError("not an ISO 8601 time")
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    dt = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    try:
        return dt.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+03:00 is before the first representable UTC time
        raise ValueError("an ISO 8601 time out of range") from None


def seconds(value: Any, default: float = 1.0, cap: float = 3600.0) -> float:
    """A platform's "retry after" (seconds): a finite number within [0, cap], else `default`.
    An answer of 1e308 or NaN must not park a source forever."""
    try:
        got = float(value)
    except (TypeError, ValueError, OverflowError):
        return default
    return min(max(got, 0.0), cap) if got == got else default


def dict_or_malformed(value: Any, platform: str, what: str) -> dict:
    """The payload must be a JSON object to be read at all."""
    if not isinstance(value, dict):
        raise Malformed(f"{what} is not a JSON object", platform=platform)
    return value


def list_or_malformed(value: Any, platform: str, what: str) -> list:
    if not isinstance(value, list):
        raise Malformed(f"{what} is not a JSON array", platform=platform)
    return value


def json_text(value: Any) -> str:
    """For tests and the CLI: JSON of a value that may hold lone surrogates (escaped, ASCII)."""
    return json.dumps(value, ensure_ascii=True)
