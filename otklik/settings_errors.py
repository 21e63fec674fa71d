"""Settings errors in plain words: what is wrong, what is expected, and for a near-miss key the key
that was probably meant. pydantic's own messages ("Extra inputs are not permitted", "Input should be a
valid integer, unable to parse string as an integer") say little to an administrator."""

from __future__ import annotations

import difflib
import re
import types
import typing
from typing import Any

from pydantic import BaseModel

SECRET_LIKE = re.compile(r"(token|secret|password|key)$", re.I)

# What a value of a kind must look like, when the field itself does not say.
TYPE_WORDS = {
    "int_parsing": "a whole number", "int_type": "a whole number", "int_from_float": "a whole number",
    "float_parsing": "a number", "float_type": "a number",
    "bool_parsing": "true or false", "bool_type": "true or false",
    "string_type": "text in quotes", "list_type": "a list in brackets, e.g. [1, 2]",
    "dict_type": "a table", "model_type": "a table", "model_attributes_type": "a table",
}
BOUNDS = {"greater_than": ("gt", "greater than"), "greater_than_equal": ("ge", "at least"),
          "less_than": ("lt", "less than"), "less_than_equal": ("le", "at most")}


def model_at(root: type[BaseModel], path: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that holds the last key of `path` (list indexes are skipped)."""
    model: type[BaseModel] | None = root
    for part in path:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part)) if model else None
        model = _model_in(field.annotation) if field else None
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found:
                return found
    return None


def did_you_mean(key: str, known: list[str]) -> str | None:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return close[0] if close else None


def _shown(key: str, value: Any) -> str:
    return "(hidden)" if SECRET_LIKE.search(key) else repr(value)


def explain(error: dict[str, Any], model: type[BaseModel] | None) -> str:
    """One pydantic error as a sentence; `model` is the one that holds the key (for hints)."""
    loc = tuple(error.get("loc") or ())
    keys = [str(p) for p in loc if not isinstance(p, int)]
    key = keys[-1] if keys else "(settings)"
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    field = model.model_fields.get(key) if model else None
    hint = field.description if field else None
    got = error.get("input")
    if kind == "extra_forbidden":
        known = sorted(model.model_fields) if model else []
        guess = did_you_mean(key, known)
        if guess:
            return f"unknown setting {key!r}: did you mean {guess!r}?"
        return f"unknown setting {key!r}" + (f"; the settings here are: {', '.join(known)}" if known else "")
    if kind == "missing":
        return f"{key!r} is required" + (f": {hint}" if hint else "")
    if kind in ("value_error", "assertion_error"):
        said = str(error.get("msg", "")).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        return said if said.startswith(key) else f"{key}: {said}"
    if kind in ("literal_error", "enum"):
        return f"{key} must be one of {ctx.get('expected', '')}, not {_shown(key, got)}"
    if kind in TYPE_WORDS:
        return f"{key} must be {hint or TYPE_WORDS[kind]}, not {_shown(key, got)}"
    if kind in BOUNDS:
        name, words = BOUNDS[kind]
        return f"{key} must be {words} {ctx.get(name)}, not {_shown(key, got)}" + (f" ({hint})" if hint else "")
    return f"{key}: {error.get('msg', 'invalid')}"
