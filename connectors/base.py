"""The one protocol every platform connector implements (DESIGN.md, "Connector").

A connector is a thin pair: `client.py` speaks HTTP (httpx, so fixtures replay through respx),
`mapping.py` turns payloads into `Message`. The connector class glues them and knows its cursor.

Parsing is total (connectors/parsing.py): whatever a platform answers, `fetch`, `send`, `check` and
`parse` return, or raise a ConnectorError (`Malformed` for an answer that cannot be read at all); an
unreadable item of a readable page goes to `Batch.rejected` and the cursor moves past it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, Field, SecretStr

from connectors.errors import AuthFailed
from connectors.ratelimit import Limiter, LocalLimiter
from otklik.models import Batch, Delivery, Message, Platform, Reply


class SourceConfig(BaseModel):
    """One configured account on one platform. Secrets are resolved by otklik.settings from the
    environment or secret files; they never come from the TOML file itself."""

    name: str
    platform: Platform
    base_url: str | None = None  # None: the platform's real API; the demo points it at an emulator
    secrets: dict[str, SecretStr] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    poll_interval: float = 5.0
    enabled: bool = True

    def secret(self, key: str) -> str:
        value = self.secrets.get(key)
        if value is None or not value.get_secret_value():
            raise AuthFailed(f"source {self.name}: secret {key!r} is not configured", platform=self.platform)
        return value.get_secret_value()


class WebhookResult(BaseModel):
    status: int = 200
    body: str = "ok"
    content_type: str = "text/plain"
    messages: list[Message] = Field(default_factory=list)


class Connector(ABC):
    platform: ClassVar[Platform]
    # What a retry after a crash mid-send may rely on (workers/jobs.py): the platform dedupes by
    # our reply id (VK random_id/guid), or we can read our posts back and look (OK, regional).
    send_is_idempotent: ClassVar[bool] = False
    can_read_back: ClassVar[bool] = False

    def __init__(self, config: SourceConfig, *, client: httpx.AsyncClient | None = None,
                 limiter: Limiter | None = None) -> None:
        self.config = config
        self.limiter = limiter or LocalLimiter()
        self._own_client = client is None
        self.http = client or httpx.AsyncClient(timeout=httpx.Timeout(35.0, connect=5.0))

    @abstractmethod
    async def fetch(self, cursor: str | None) -> Batch:
        """Return what is new after `cursor`. Never advances anything on the platform that would
        lose data if we crashed before storing the batch (Telegram offsets are confirmed by the
        *next* call, which happens only after the batch and its cursor were committed)."""

    @abstractmethod
    async def send(self, reply: Reply) -> Delivery:
        """Post the reply in the citizen's thread, idempotently by `reply.id`."""

    async def find_posted(self, reply: Reply) -> Delivery | None:
        """Read back whether this reply is already on the platform (for platforms without an
        idempotency key). Default: the platform deduplicates by key, nothing to read."""
        return None

    async def mirror(self, external_id: str, reply: Reply, delivery: Delivery) -> None:
        """Regional platforms: record that the answer to `external_id` was posted elsewhere."""
        raise NotImplementedError(f"{self.platform} does not mirror answers")

    async def check(self) -> list[str]:
        """Verify the token and permissions; return what is missing (empty: all fine)."""
        return []

    async def handle_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookResult:
        raise NotImplementedError(f"{self.platform} has no webhook")

    @classmethod
    def parse(cls, payload: Any, source: str = "sample") -> list[Message]:
        """Map any payload of this platform to messages (used by `otklik normalize`); raises a
        ConnectorError for an error envelope."""
        raise NotImplementedError

    async def aclose(self) -> None:
        if self._own_client:
            await self.http.aclose()
