"""Importance: `high` when life or health is at risk, an emergency (no heat, water, power or gas —
worse in winter — accidents, collapses, fires), children or many people are affected, or the
platform flags the message fast-track. The rules are data (router/data/importance.yaml)."""

from __future__ import annotations

import functools
import re
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from otklik.datafile import load_model
from router.text import normalize

DATA = Path(__file__).resolve().parent / "data" / "importance.yaml"
WINTER = {11, 12, 1, 2, 3}


class Rule(BaseModel):
    reason: str
    pattern: str
    winter_only: bool = False

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        re.compile(v)
        return v


class ImportanceFile(BaseModel):
    rules: list[Rule]
    needs_company: list[str] = Field(default_factory=list)


class ImportanceRules:
    def __init__(self, data: ImportanceFile) -> None:
        self.data = data
        self.compiled = [(r, re.compile(r.pattern)) for r in data.rules]

    def assess(self, text: str, *, fast_track: bool = False, when: datetime | None = None) -> tuple[str, list[str]]:
        norm = normalize(text)
        winter = when is None or when.month in WINTER
        reasons = [r.reason for r, p in self.compiled if (winter or not r.winter_only) and p.search(norm)]
        if fast_track:
            reasons.append("platform_fast_track")
        decisive = [r for r in reasons if r not in self.data.needs_company]
        return ("high" if decisive else "normal"), reasons


@functools.cache
def load_importance(path: str | None = None) -> ImportanceRules:
    return ImportanceRules(load_model(Path(path) if path else DATA, ImportanceFile))
