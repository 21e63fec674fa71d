"""Who acts. The API, the CLI and the console each turn their credentials into one `Actor`, and the
service layer decides every access question on it, so the three front doors cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Actor:
    login: str
    role: str  # the primary role
    department: str | None = None
    user_id: int | None = None
    session_id: int | None = None
    # When this session last proved the second factor: approving and publishing need it fresh.
    second_factor_at: datetime | None = None
    via: str = "api"  # api | cli | console | system
    # Every role held (an admin who also approves); the primary alone when not given.
    roles: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", frozenset(self.roles) | {self.role})

    def has(self, role: str) -> bool:
        return role in self.roles


# The daemon's own parts act as "system" for the lifecycle; each keeps its name in the audit.
PIPELINE = Actor(login="pipeline", role="system", via="system")
ROUTER = Actor(login="router", role="system", via="system")
WATCHER = Actor(login="watcher", role="system", via="system")
WORKER = Actor(login="worker", role="system", via="system")
PLATFORM = Actor(login="platform", role="system", via="system")
