"""The options of a Telegram source (see connector.py's docstring for what each does)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from connectors.options import SourceOptions


class Options(SourceOptions):
    CHECKS: ClassVar[str] = "getMe (the token is a bot's; privacy mode) and getWebhookInfo (polling or webhook as configured)"
    REQUIRED_SECRETS: ClassVar[dict[str, str]] = {"token": "the bot's token from @BotFather"}
    OPTIONAL_SECRETS: ClassVar[dict[str, str]] = {
        "webhook_secret": "needed only in webhook mode (options.webhook = true)"}

    poll_timeout: int = Field(25, ge=0, le=90, description="seconds of long polling, a whole number 0-90, e.g. 25")
    limit: int = Field(100, ge=1, le=100, description="updates per poll, a whole number 1-100")
    webhook: bool = Field(False, description="true or false (updates arrive at /webhooks/<source>)")
    webhook_url: str | None = Field(None, description="this daemon's public URL of /webhooks/<source>")
    own_chat_ids: list[int] = Field(default_factory=list,
                                    description="a list of chat numbers, e.g. [-1001234567890]")
    allow_sending_without_reply: bool | None = Field(None, description="true or false")
    rps: float = Field(28, gt=0, le=30, description="sends per second, a number up to 30, e.g. 28")
    privacy_mode_ok: bool = Field(False, description="true or false")
    read_attempts: int = Field(3, ge=1, description="a whole number, e.g. 3")
    retry_backoff: float = Field(0.5, ge=0, description="seconds, a number, e.g. 0.5")
    request_timeout: float = Field(20.0, gt=0, description="seconds, a number, e.g. 20")
