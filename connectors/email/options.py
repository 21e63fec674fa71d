"""The options of an e-mail source: its own SMTP server (else `[mail]`), and the subject line."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from connectors.options import SourceOptions


class Options(SourceOptions):
    CHECKS: ClassVar[str] = "the SMTP settings (host, sender address) without sending anything"
    OPTIONAL_SECRETS: ClassVar[dict[str, str]] = {"password": "the SMTP password, when the server needs a login"}

    host: str | None = Field(None, description="the SMTP server's name, e.g. smtp.example.org")
    port: int = Field(25, ge=1, le=65535, description="a port number, e.g. 587")
    security: Literal["none", "starttls", "tls"] = "none"
    username: str | None = Field(None, description="the SMTP login, in quotes")
    sender: str | None = Field(None, description="an e-mail address, e.g. otvet@example.org")
    sender_name: str | None = Field(None, description="text in quotes")
    timeout: float = Field(15.0, gt=0, description="seconds, a number")
    subject: str | None = Field(None, description="text in quotes")
