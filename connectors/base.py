"""The one protocol every platform connector implements (DESIGN.md, "Connector").

A connector is a thin pair: `client.py` speaks HTTP (httpx, so fixtures replay through respx),
`mapping.py` turns payloads into `Message`. The connector class glues them and knows its cursor.

Parsing is total (connectors/parsing.py): whatever a platform answers, `fetch`, `send`, `check` and
`parse` return, or raise a ConnectorError (`Malformed` for an answer that cannot be read at all); an
unreadable item of a readable page goes to `Batch.rejected` and the cursor moves past it.
"""

from __future__ import annotations

import hmac
import ipaddress
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

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


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Advice(str):
    """A finding of `Connector.check` that costs a feature, not the source (an optional token
    absent): `otklik sources check` reports it and still exits 0."""


class WebhookRefused(AuthFailed):
    """A webhook delivery that failed authentication: refused (401/403/404) before its body is
    parsed, nothing stored. `reason` labels otklik_webhook_refused_total; the message is safe to log."""

    def __init__(self, message: str, *, reason: str, status: int = 403, platform: str = "") -> None:
        super().__init__(message, platform=platform, code=status)
        self.reason = reason
        self.status = status


def same_secret(got: str | bytes | None, expected: str) -> bool:
    """Constant-time comparison; a missing value never matches."""
    if got is None:
        return False
    raw = got if isinstance(got, bytes) else got.encode("utf-8", "surrogateescape")
    return hmac.compare_digest(raw, expected.encode("utf-8"))


def networks(values: Any) -> list[IPNetwork]:
    """CIDRs (or single addresses) from a setting or an option; a bad entry is a configuration error."""
    if values is None or values == "":
        return []
    if isinstance(values, str):
        values = [v for v in values.replace(",", " ").split() if v]
    return [ipaddress.ip_network(str(v).strip(), strict=False) for v in values]


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
    # How a webhook delivery proves it comes from the platform. "platform": with the platform's own
    # secret (a header, a body field), checked by handle_webhook, at /webhooks/<source>. "path": the
    # platform signs nothing, so the URL itself is the secret — /webhooks/<source>/<token>, the token
    # being the source's secret `webhook_path` (checked by authenticate_webhook, before any parsing).
    webhook_auth: ClassVar[Literal["platform", "path"]] = "platform"

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

    async def file_url(self, file_id: str) -> str | None:
        """Where to download a citizen's file that the platform gives by id only (Telegram's
        file_id), for otklik.attachments.citizen. Default: the platform gives URLs, nothing to ask."""
        return None

    async def mirror(self, external_id: str, reply: Reply, delivery: Delivery) -> None:
        """Regional platforms: record that the answer to `external_id` was posted elsewhere."""
        raise NotImplementedError(f"{self.platform} does not mirror answers")

    async def check(self) -> list[str]:
        """Verify the token and permissions; return what is missing (empty: all fine). A finding
        that only costs a feature is an `Advice`."""
        return []

    @property
    def takes_webhooks(self) -> bool:
        return type(self).handle_webhook is not Connector.handle_webhook

    def webhook_networks(self) -> list[IPNetwork]:
        """Where deliveries may come from (option `webhook_allowed_ips`, CIDRs); empty: anywhere.
        The daemon checks the client address, taken from X-Forwarded-For/X-Real-IP only when the
        TCP peer is one of the settings' `trusted_proxies`."""
        return networks(self.config.options.get("webhook_allowed_ips"))

    def authenticate_webhook(self, headers: Mapping[str, str], path_token: str | None) -> None:
        """The checks that need no body, made by the daemon before it reads one; raises WebhookRefused.
        `path_token` is the last segment of /webhooks/<source>/<token>, None for /webhooks/<source>."""
        if self.webhook_auth == "path":
            expected = self.config.secrets.get("webhook_path")
            if expected is None or not expected.get_secret_value():
                raise WebhookRefused(f"source {self.config.name}: secret 'webhook_path' is not configured",
                                     reason="not_configured", status=404, platform=self.platform)
            if path_token is None:
                raise WebhookRefused("this source takes webhooks only at /webhooks/<source>/<token>",
                                     reason="no_path_token", status=404, platform=self.platform)
            if not same_secret(path_token, expected.get_secret_value()):
                raise WebhookRefused("wrong webhook path token", reason="bad_path_token", status=404,
                                     platform=self.platform)
        elif path_token is not None:
            raise WebhookRefused("this source takes webhooks at /webhooks/<source>", reason="unexpected_path",
                                 status=404, platform=self.platform)

    async def handle_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookResult:
        """One delivery (the daemon already ran authenticate_webhook and the address check).
        Raises WebhookRefused for a wrong secret (before parsing anything but what carries it), and
        another ConnectorError for a body that is not what the platform sends (the daemon: 400)."""
        raise NotImplementedError(f"{self.platform} has no webhook")

    @classmethod
    def parse(cls, payload: Any, source: str = "sample") -> list[Message]:
        """Map any payload of this platform to messages (used by `otklik normalize`); raises a
        ConnectorError for an error envelope."""
        raise NotImplementedError

    async def aclose(self) -> None:
        if self._own_client:
            await self.http.aclose()
