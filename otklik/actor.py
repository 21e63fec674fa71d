"""Who acts. The API, the CLI and the console each turn their credentials into one `Actor`, and the
service layer decides every access question on it, so the three front doors cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Actor:
    login: str
    role: str
    department: str | None = None
    user_id: int | None = None
    session_id: int | None = None
    # When this session last proved the second factor: approving and publishing need it fresh.
    second_factor_at: datetime | None = None
    via: str = "api"  # api | cli | console
