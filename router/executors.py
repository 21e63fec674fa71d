"""Executors: which departments answer which topics, with substitutes for absence and the date an
executor leaves. Pure lookups over a validated data file."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from otklik.datafile import load_model

DATA = Path(__file__).resolve().parent / "data" / "executors.yaml"


class Absence(BaseModel):
    from_: date = Field(alias="from")
    to: date
    reason: Literal["illness", "leave", "travel", "other"] = "other"


class Department(BaseModel):
    id: str
    name: str
    groups: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    substitute: str | None = None
    absent: list[Absence] = Field(default_factory=list)
    leaves_on: date | None = None

    def available(self, on: date) -> bool:
        if self.leaves_on and on >= self.leaves_on:
            return False
        return not any(a.from_ <= on <= a.to for a in self.absent)


class Joint(BaseModel):
    topic: str
    executors: list[str] = Field(min_length=2)


class ExecutorsFile(BaseModel):
    departments: list[Department]
    joint: list[Joint] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> ExecutorsFile:
        ids = {d.id for d in self.departments}
        for d in self.departments:
            if d.substitute and d.substitute not in ids:
                raise ValueError(f"department {d.id}: substitute {d.substitute!r} is not a department")
        for j in self.joint:
            unknown = set(j.executors) - ids
            if unknown:
                raise ValueError(f"joint topic {j.topic}: unknown departments {sorted(unknown)}")
        return self


class Executors:
    def __init__(self, data: ExecutorsFile) -> None:
        self.data = data
        self.by_id = {d.id: d for d in data.departments}

    def present(self, dept_id: str, on: date) -> str:
        """The department itself, or its substitute chain, whoever is available on that date."""
        seen = set()
        current = dept_id
        while current not in seen:
            seen.add(current)
            dept = self.by_id[current]
            if dept.available(on):
                return current
            if not dept.substitute:
                break
            current = dept.substitute
        return dept_id  # nobody available: the curator sees the original and re-routes

    def for_topic(self, group: str, topic: str | None, on: date) -> list[str]:
        for j in self.data.joint:
            if j.topic == topic:
                chosen = j.executors
                break
        else:
            chosen = [d.id for d in self.data.departments if topic in d.topics] or \
                [d.id for d in self.data.departments if group in d.groups]
        out: list[str] = []
        for dept in chosen:
            who = self.present(dept, on)
            if who not in out:
                out.append(who)
        return out


@functools.cache
def load_executors(path: str | None = None) -> Executors:
    return Executors(load_model(Path(path) if path else DATA, ExecutorsFile))
