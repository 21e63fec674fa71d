"""What a source's `[sources.options]` may hold: each connector declares a pydantic model of its own
options (`connectors/<platform>/options.py`, class `Options`) and the secrets it needs, so
`otklik config check` rejects a typo or a wrong type before the daemon ever polls.

The connectors still read their options as a plain dict (`SourceConfig.options`); these models only
validate and document them. Shared pieces live here: every source may restrict webhook senders, and
the bearer-token clients share their rate and retry options."""

from __future__ import annotations

import importlib
import ipaddress
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator


class SourceOptions(BaseModel):
    """Options every source may have. A subclass adds its platform's and lists its secrets."""

    model_config = ConfigDict(extra="forbid")

    # what `Connector.check` verifies on the platform, for `otklik sources check` to say
    CHECKS: ClassVar[str] = "the platform accepts the credentials"
    # secret name -> what it is for; a required one missing makes `sources check` fail.
    REQUIRED_SECRETS: ClassVar[dict[str, str]] = {}
    # secret name -> what is lost without it; missing ones are reported but do not fail.
    OPTIONAL_SECRETS: ClassVar[dict[str, str]] = {}

    webhook_allowed_ips: list[str] = Field(
        default_factory=list, description='a list of addresses or CIDR networks, e.g. ["203.0.113.0/24"]')

    @field_validator("webhook_allowed_ips")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        for item in v:
            try:
                ipaddress.ip_network(str(item), strict=False)
            except ValueError:
                raise ValueError(f"webhook_allowed_ips: {item!r} is not an IP address or a CIDR network, "
                                 "e.g. 203.0.113.0/24") from None
        return v


class BearerOptions(SourceOptions):
    """The regional platforms' clients (connectors.transport.client_options)."""

    rps: int | None = Field(None, gt=0, description="requests per second, a whole number, e.g. 4")
    read_attempts: int = Field(4, ge=1, description="how many times a read is tried, a whole number, e.g. 4")
    retry_wait: float = Field(0.2, ge=0, description="seconds between read retries, a number, e.g. 0.2")


def options_model(platform: str) -> type[SourceOptions]:
    """The options model of a platform: `Options` in the module `options` next to its connector
    (the package named in connectors.registry), so adding a platform needs no other line."""
    from connectors.registry import CONNECTORS

    try:
        module_name = CONNECTORS[platform].partition(":")[0]
    except KeyError:
        raise KeyError(f"unknown platform {platform!r}") from None
    package = module_name.rpartition(".")[0]
    return importlib.import_module(f"{package}.options").Options
