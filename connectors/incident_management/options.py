"""The options of an Incident Management (ЦУР) source (see README.md here)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from connectors.options import BearerOptions


class Options(BearerOptions):
    CHECKS: ClassVar[str] = "GET /me (the token is accepted) and its organisation"
    REQUIRED_SECRETS: ClassVar[dict[str, str]] = {"token": "the access token issued to the administration"}

    web_url: str | None = Field(None, description="the public site's address, e.g. https://example.org")
    limit: int = Field(100, ge=1, le=500, description="page size, a whole number, e.g. 100")
