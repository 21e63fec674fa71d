"""Executors: which departments answer which topics (and, optionally, which places), responsible
first, with substitutes for absence (illness, leave, travel) and the date an executor leaves
(000 §9, 001 §7). Pure lookups over a validated data file."""

from __future__ import annotations

import functools
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from otklik.datafile import load_model
from router.rubricator import GROUPS

DATA = Path(__file__).resolve().parent / "data" / "executors.yaml"


class Absence(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    from_: date = Field(alias="from")
    to: date
    reason: Literal["illness", "leave", "travel", "other"] = "other"

    @model_validator(mode="after")
    def _ordered(self) -> Absence:
        if self.to < self.from_:
            raise ValueError(f"absence ends ({self.to}) before it starts ({self.from_})")
        return self


class Department(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    groups: list[str] = Field(default_factory=list)  # shorthand: a route for each of these groups
    substitute: str | None = None
    absent: list[Absence] = Field(default_factory=list)
    leaves_on: date | None = None  # the executor's last day is the day before

    def absence_on(self, on: date) -> str | None:
        """Why the department cannot take work on that date, or None."""
        if self.leaves_on and on >= self.leaves_on:
            return "left"
        for a in self.absent:
            if a.from_ <= on <= a.to:
                return a.reason
        return None

    @field_validator("groups")
    @classmethod
    def _known_groups(cls, v: list[str]) -> list[str]:
        unknown = [g for g in v if g not in GROUPS]
        if unknown:
            raise ValueError(f"not among the 26 topic groups: {unknown}")
        return v


class Route(BaseModel):
    """Messages of a group (optionally one topic, optionally one place) go to these departments,
    responsible first."""

    model_config = ConfigDict(extra="forbid")

    group: str
    topic: str | None = None
    location: str | None = None  # a settlement of the gazetteer, by name
    executors: list[str] = Field(min_length=1)

    @field_validator("group")
    @classmethod
    def _known_group(cls, v: str) -> str:
        if v not in GROUPS:
            raise ValueError(f"{v!r} is not one of the 26 topic groups")
        return v

    @property
    def specificity(self) -> int:
        return (2 if self.topic else 0) + (1 if self.location else 0)


class ExecutorsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    departments: list[Department] = Field(min_length=1)
    routes: list[Route] = Field(default_factory=list)
    default: list[str] = Field(default_factory=list)  # when no route matches (the curator's desk)

    @model_validator(mode="after")
    def _references(self) -> ExecutorsFile:
        ids = [d.id for d in self.departments]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"department ids listed twice: {dupes}")
        known = set(ids)
        for d in self.departments:
            if d.substitute is not None and d.substitute not in known:
                raise ValueError(f"department {d.id}: substitute {d.substitute!r} is not a department")
            if d.substitute == d.id:
                raise ValueError(f"department {d.id}: cannot substitute itself")
        for r in self.routes:
            unknown = [e for e in r.executors if e not in known]
            if unknown:
                raise ValueError(f"route {r.group}/{r.topic or '*'}: unknown departments {unknown}")
        unknown = [e for e in self.default if e not in known]
        if unknown:
            raise ValueError(f"default: unknown departments {unknown}")
        return self


class Assignment(BaseModel):
    executors: list[str]  # responsible first
    substitutions: list[str] = Field(default_factory=list)  # "zhkh->stroitelstvo (leave)"


class Executors:
    def __init__(self, data: ExecutorsFile) -> None:
        self.data = data
        self.by_id = {d.id: d for d in data.departments}
        # Departments' `groups` shorthand: one route per group, the departments in file order
        # (the first listed is responsible), after the explicit routes.
        shorthand: dict[str, list[str]] = {}
        for d in data.departments:
            for g in d.groups:
                shorthand.setdefault(g, []).append(d.id)
        routes = [*data.routes, *(Route(group=g, executors=ids) for g, ids in shorthand.items())]
        # Most specific first: topic+place, topic, group+place, group. File order breaks ties.
        self._routes = sorted(routes, key=lambda r: -r.specificity)

    def present(self, dept_id: str, on: date) -> tuple[str, str | None]:
        """The department, or the first available one along its substitute chain, and why it
        was replaced. When nobody on the chain is available the original stays: the curator sees
        it and re-routes."""
        seen: set[str] = set()
        current = dept_id
        why = self.by_id[dept_id].absence_on(on)
        while current not in seen:
            seen.add(current)
            dept = self.by_id[current]
            if dept.absence_on(on) is None:
                return current, (why if current != dept_id else None)
            if dept.substitute is None:
                break
            current = dept.substitute
        return dept_id, None

    def route_for(self, group: str, topic: str | None, places: list[str]) -> Route | None:
        for r in self._routes:
            if (
                r.group != group
                or (r.topic and r.topic != topic)
                or (r.location and r.location not in places)
            ):
                continue
            return r
        return None

    def assign(self, group: str, topic: str | None, on: date, places: list[str] | None = None) -> Assignment:
        route = self.route_for(group, topic, places or [])
        chosen = route.executors if route else self.data.default
        out: list[str] = []
        subs: list[str] = []
        for dept in chosen:
            who, why = self.present(dept, on)
            if why:
                subs.append(f"{dept}->{who} ({why})")
            if who not in out:
                out.append(who)
        return Assignment(executors=out, substitutions=subs)

    def for_topic(
        self, group: str, topic: str | None, on: date, places: list[str] | None = None
    ) -> list[str]:
        return self.assign(group, topic, on, places).executors

    def leaving_within(self, on: date, days: int = 3) -> list[Department]:
        """Departments whose executor leaves within `days` (000 §9: the curator must know
        within three calendar days)."""
        horizon = on + timedelta(days=days)
        return [d for d in self.data.departments if d.leaves_on and on <= d.leaves_on <= horizon]


@functools.cache
def load_executors(path: str | None = None) -> Executors:
    return Executors(load_model(Path(path) if path else DATA, ExecutorsFile))
