"""The options of an OK (Odnoklassniki) source (see README.md here)."""

from __future__ import annotations

from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from connectors.options import SourceOptions


class Options(SourceOptions):
    CHECKS: ClassVar[str] = "group.getInfo (the access token sees the group), the Bot API token's group and webhook subscription"
    REQUIRED_SECRETS: ClassVar[dict[str, str]] = {
        "access_token": "the REST API access token of the group's administrator",
        "application_secret_key": "the application's secret key (signs REST calls)",
    }
    OPTIONAL_SECRETS: ClassVar[dict[str, str]] = {
        "bot_token": "reading and answering the group's chats through the Bot API",
        "webhook_path": "needed only in webhook mode (the token in /webhooks/<source>/<token>)",
    }

    group_id: str = Field(description="the group's number in quotes, e.g. \"70000001234567\"")
    application_key: str = Field(description="the application's public key, in quotes")
    chats: list[str] | None = Field(None, description='a list of chat ids in quotes, e.g. ["chat:C3F…"]')
    webhook: bool = Field(False, description="true or false")
    webhook_url: str | None = Field(None, description="this daemon's public URL of /webhooks/<source>/<token>")
    webhook_check_ip: bool = Field(False, description="true or false")
    backfill_hours: float = Field(24.0, ge=0, description="hours of history read on the first start, a number")
    date_tz: str = Field("Europe/Moscow", description="a time zone name, e.g. Europe/Moscow")
    topics_window: int = Field(20, ge=1, description="a whole number, e.g. 20")
    page_size: int = Field(100, ge=1, le=100, description="a whole number 1-100")
    max_pages: int = Field(5, ge=1, description="a whole number, e.g. 5")
    remember: int = Field(10, ge=0, description="a whole number, e.g. 10")
    rescan_every: int = Field(0, ge=0, description="a whole number of polls (0: never)")
    reply_window_hours: float = Field(72.0, gt=0, description="hours, a number, e.g. 72")
    find_pages: int = Field(3, ge=1, description="a whole number, e.g. 3")
    rps: int = Field(3, gt=0, description="REST requests per second, a whole number, e.g. 3")
    bot_rps: int = Field(3, gt=0, description="Bot API requests per second, a whole number, e.g. 3")
    read_attempts: int = Field(3, ge=1, description="a whole number, e.g. 3")
    retry_wait: float = Field(0.5, ge=0, description="seconds, a number, e.g. 0.5")
    flood_retry_after: float = Field(5.0, ge=0, description="seconds, a number, e.g. 5")

    @field_validator("group_id", mode="before")
    @classmethod
    def _digits(cls, v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            v = str(v)
        if isinstance(v, str) and not v.strip().isdigit():
            raise ValueError(f"group_id must be the group's number, e.g. \"70000001234567\", not {v!r}")
        return v

    @field_validator("date_tz")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"date_tz must be a time zone name, e.g. Europe/Moscow, not {v!r}") from None
        return v
