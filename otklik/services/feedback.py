"""What a regional platform's status change means for the case: the lifecycle action and its data.

The connectors report platform-neutral statuses (`reopened`, `accepted`, `rated`, …) and keep the
platform's own event in `raw`; the regulations name finer kinds (a citizen's comment returns an
Incident Management case to work, 004 §2.1; a negative comment by the user or a moderator returns a
ПОС answer, 004 §2.2; a «Камчатка в порядке» rework is re-assigned the same day, 000 прил. 2
§2.7–2.8). Reading the finer kind here lets each profile's `feedback` rules decide, and a status
with no finer kind still follows the platform (`reopened`/`accepted` are the platform's decision).
Pure: no I/O.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

# The platform's own event type (raw["type"]) -> the regulation's feedback kind.
FINER_KIND = {
    "citizen_comment": "comment",  # Incident Management: any comment returns it to work (004 §2.1)
    "rework": "rework",  # «Камчатка в порядке» §2.8
    "confirmed": "confirm",  # «Камчатка в порядке» §2.7
    "feedback_accepted": "closed",  # Incident Management's own two-day timer closed it (004 §2.1)
}
# Platform-neutral statuses that are not citizens' feedback.
DECISIONS = {
    "returned": ("platform_returned", {}),
    "extension_granted": ("decide_extension", {"granted": True}),
    "extension_denied": ("decide_extension", {"granted": False}),
}
FEEDBACK = {
    "reopened": "reopened",
    "disputed": "dispute",
    "rework": "rework",
    "accepted": "accepted",
    "confirmed": "confirm",
    "rated": "rate",
}


def platform_action(status: str, raw: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]] | None:
    """(lifecycle action, data) for a platform status, or None for one the case does not follow."""
    raw = raw or {}
    if status in DECISIONS:
        action, data = DECISIONS[status]
        data = dict(data)
        if status == "extension_granted" and (deadline := _time(raw.get("deadline"))) is not None:
            data["platform_deadline"] = deadline  # the platform's new date (000 прил. 2 §2.5)
        return action, data
    kind = FEEDBACK.get(status)
    if kind is None:
        return None
    finer = FINER_KIND.get(str(raw.get("type") or ""))
    if finer is not None and status in ("reopened", "accepted"):
        kind = finer
    elif status == "reopened" and raw.get("author_type") is not None:
        kind = "negative_comment"  # ПОС: a negative comment by the user or a moderator (004 §2.2)
    data: dict[str, Any] = {"kind": kind}
    if kind in ("reopened", "comment", "rework", "negative_comment", "dispute"):
        deadline = _time(raw.get("deadline"))
        if deadline is not None:
            data["platform_deadline"] = deadline  # the platform's term for the new answer, if it gave one
    return "feedback", data


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None
