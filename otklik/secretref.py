"""Secret references: a setting names where a secret is (`env:VAR` or `file:/path`), never the secret
itself, so otklik.toml can be shown, committed and mailed. One reading for every such setting
(`[mail] password`, `[staff_bot] telegram_token` …)."""

from __future__ import annotations

import os
from pathlib import Path


def check(value: str | None, what: str) -> str | None:
    """For a pydantic validator: a reference passes, anything else is refused with `what` named."""
    if value is not None and not (value.startswith("env:") or value.startswith("file:")):
        raise ValueError(f"{what} must be a reference 'env:VAR' or 'file:/path', never the secret itself")
    return value


def read(ref: str | None) -> str | None:
    """The secret a reference points at (stripped), or None when it is not there."""
    if not ref:
        return None
    kind, _, where = ref.partition(":")
    if kind == "env":
        return os.environ.get(where) or None
    try:
        return Path(where).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None
