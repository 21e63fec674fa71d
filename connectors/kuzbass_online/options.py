"""The options of a «Кузбасс Онлайн» source (see README.md here)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from connectors.options import BearerOptions


class Options(BearerOptions):
    CHECKS: ClassVar[str] = "GET /profile (the token is accepted) and the executor taking appeals into work"
    REQUIRED_SECRETS: ClassVar[dict[str, str]] = {"token": "the platform's API token"}

    web_url: str | None = Field(None, description="the public site's address, e.g. https://example.org")
    limit: int = Field(50, ge=1, le=100, description="page size, a whole number 1-100")
    take_into_work: bool = Field(True, description="true or false")
    executor: str | None = Field(None, description="the organisation's name as the platform shows it, in quotes")
    default_subcategory: str = Field("Прочее", description="text in quotes")
