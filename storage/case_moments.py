"""The lifecycle moments and outcome of a case, copied from its JSON record into plain columns of
`cases` so reports aggregate them in SQL instead of parsing 100,000 JSON documents (issue 18).

`moments(record)` is the one mapping from record to columns: CaseRow applies it whenever its record
is assigned (storage.tables), reports.sample and the 0004_finish migration's backfill call it too.
The record stays the source of truth; these columns are a copy that is never written on its own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

# column name -> path in the record; the first path present wins
MOMENT_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "identified_at": (("deadlines", "identified_at"),),
    "due_at": (("shortened_to",), ("deadlines", "answer_by")),  # the answer's term, shortened or not
    "routed_at": (("milestones", "routed_at"),),
    "submitted_at": (("milestones", "submitted_at"),),
    "approved_at": (("milestones", "approved_at"),),
    "published_at": (("milestones", "published_at"),),
    "intermediate_at": (("milestones", "intermediate_at"), ("intermediate_at",)),
}
COLUMNS = (*MOMENT_PATHS, "outcome", "reopened", "repeat_of", "ratings")


def _at(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = record
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def moments(record: dict[str, Any] | None) -> dict[str, Any]:
    """The report columns of one case record (a CaseRecord.model_dump(mode="json") dict)."""
    record = record if isinstance(record, dict) else {}
    out: dict[str, Any] = {}
    for column, paths in MOMENT_PATHS.items():
        out[column] = next((m for m in (_moment(_at(record, p)) for p in paths) if m is not None), None)
    outcome, reopened, repeat_of = record.get("outcome"), record.get("reopened"), record.get("repeat_of")
    out["outcome"] = outcome if isinstance(outcome, str) and outcome else None
    out["reopened"] = reopened if isinstance(reopened, int) else 0
    out["repeat_of"] = repeat_of if isinstance(repeat_of, int) and not isinstance(repeat_of, bool) else None
    history = record.get("feedback_history")
    out["ratings"] = [f["rating"] for f in history if isinstance(f, dict) and isinstance(f.get("rating"), int)
                      and not isinstance(f.get("rating"), bool)] if isinstance(history, list) else []
    return out


# Between place names in `cases.place_names`: names are the router's location mentions (gazetteer
# names, house numbers: router/location.py), never with control characters.
PLACE_SEP = "\x1f"


def place_names(location: list[Any] | None) -> str | None:
    """The names of a case's `location` (a list of {"name": …}) joined by PLACE_SEP; None for none.
    CaseRow applies it whenever `location` is assigned; reports split it instead of parsing JSON."""
    names = [str(p["name"]) for p in location or () if isinstance(p, dict) and p.get("name")]
    return PLACE_SEP.join(n.replace(PLACE_SEP, " ") for n in names) or None
