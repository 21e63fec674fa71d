"""One report, start to finish, for the CLI, the API and the scheduler: read the facts in the
actor's scope, compute, render."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from otklik.actor import Actor
from regulation.profiles import load_profile
from reports import compute, queries
from reports.period import BadPeriod, instants
from storage.tables import now

FORMATS = {  # format -> (content type, file extension)
    "json": ("application/json; charset=utf-8", "json"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "html": ("text/html; charset=utf-8", "html"),
}


def report(session: Session, actor: Actor, profile_name: str, first: date, last: date, *,
           department: str | None = None, source: str | None = None) -> dict[str, Any]:
    profile = load_profile(profile_name)
    start, end = instants(first, last, profile.calendar.tz)
    facts = queries.load(session, actor, start, end, department=department, source=source)
    sc = "municipality" if actor.roles & {"curator", "approver", "head", "system"} else \
        f"подразделение {actor.department}"
    return compute.build(facts, profile=profile, start=start, end=end, generated_at=now(),
                         department=department, source=source, scope=sc)


def render(rep: dict[str, Any], fmt: str) -> bytes:
    if fmt == "json":
        from reports.render import to_json
        return to_json(rep)
    if fmt == "csv":
        from reports.csv import to_csv
        return to_csv(rep)
    if fmt == "xlsx":
        from reports.xlsx import to_xlsx
        return to_xlsx(rep)
    if fmt == "html":
        from reports.html import to_html
        return to_html(rep)
    raise BadPeriod(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}")
