"""The options of a «Камчатка в порядке» source (see README.md here)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from connectors.options import BearerOptions


class Options(BearerOptions):
    CHECKS: ClassVar[str] = "GET /profile (the API key is accepted) and the organisation it belongs to"
    REQUIRED_SECRETS: ClassVar[dict[str, str]] = {"api_key": "the API key issued to the administration"}

    web_url: str | None = Field(None, description="the public site's address, e.g. https://example.org")
    limit: int = Field(50, ge=1, le=100, description="page size, a whole number 1-100")
    no_photo_reason: str | None = Field(None, description="text in quotes")
