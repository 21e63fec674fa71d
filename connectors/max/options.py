"""The options of a MAX source (see connector.py's docstring for what each does)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from connectors.options import SourceOptions


class Options(SourceOptions):
    CHECKS: ClassVar[str] = "GET /me (the token is a bot's), GET /subscriptions (polling or webhook), the bot's rights in options.chat_ids"
    REQUIRED_SECRETS: ClassVar[dict[str, str]] = {"token": "the bot's token from the MAX platform for partners"}
    OPTIONAL_SECRETS: ClassVar[dict[str, str]] = {
        "webhook_secret": "needed only in webhook mode (options.webhook = true)"}

    ca_bundle: str | None = Field(None, description="the path of a PEM file, e.g. /etc/ssl/russian_trusted_root.pem")
    poll_timeout: int = Field(25, ge=0, le=90, description="seconds of long polling, a whole number 0-90")
    limit: int = Field(100, ge=1, le=1000, description="updates per poll, a whole number 1-1000")
    webhook: bool = Field(False, description="true or false")
    webhook_url: str | None = Field(None, description="this daemon's public URL of /webhooks/<source>")
    chat_ids: list[int] = Field(default_factory=list, description="a list of chat numbers, e.g. [-68000001]")
    rps: float = Field(28, gt=0, le=30, description="requests per second, a number up to 30")
    read_attempts: int = Field(3, ge=1, description="a whole number, e.g. 3")
    retry_backoff: float = Field(0.5, ge=0, description="seconds, a number, e.g. 0.5")
    request_timeout: float = Field(20.0, gt=0, description="seconds, a number, e.g. 20")
