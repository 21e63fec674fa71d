"""The options of a ПОС (Платформа обратной связи) source (see README.md here)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from connectors.options import BearerOptions


class Options(BearerOptions):
    CHECKS: ClassVar[str] = "the OAuth login and one page of the appeals list"
    REQUIRED_SECRETS: ClassVar[dict[str, str]] = {
        "username": "the ЕСИА-linked login of the organisation", "password": "its password",
        "client_id": "the OAuth client id issued for the integration", "client_secret": "its secret"}

    page_size: int = Field(50, ge=1, le=100, description="a whole number 1-100, e.g. 50")
    executor_info: dict[str, Any] | None = Field(
        None, description='a table of the executor\'s details, e.g. { name = "…", position = "…" }')
