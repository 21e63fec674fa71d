"""The options of a VK source (see README.md here for the modes and the tokens)."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from connectors.options import SourceOptions

GROUP_ID_HINT = "group_id must be the community's number, e.g. 218000001"


class Options(SourceOptions):
    CHECKS: ClassVar[str] = "groups.getById (the token is the community's, group_id matches), the Long Poll or Callback settings, the REST and user tokens"
    REQUIRED_SECRETS: ClassVar[dict[str, str]] = {"token": "the community's access token (messages, wall, board)"}
    OPTIONAL_SECRETS: ClassVar[dict[str, str]] = {
        "service_token": "re-reading wall and board events lost in a long poll gap, and backfill",
        "user_token": "posting replies in board topics (VK allows them to users only)",
        "callback_secret": "needed only in Callback API mode (options.mode = \"callback\")",
    }

    group_id: int | None = Field(None, gt=0, description="the community's number, e.g. 218000001")
    mode: Literal["longpoll", "callback"] = "longpoll"
    wait: int | None = Field(None, ge=0, le=90, description="seconds of long polling, a whole number, e.g. 25")
    poll_wait: int | None = Field(None, ge=0, le=90, description="the same as wait (older name)")
    backfill_days: float = Field(0, ge=0, description="days of history read on the first start, a number")
    reconcile_post_days: float = Field(7, ge=0, description="days, a number, e.g. 7")
    reconcile_max_days: float = Field(7, ge=0, description="days, a number, e.g. 7")
    confirmation_code: str | None = Field(None, description="the Callback API confirmation string, in quotes")
    page_size: int = Field(100, ge=1, le=100, description="a whole number 1-100")
    read_attempts: int = Field(3, ge=1, description="a whole number, e.g. 3")
    read_backoff: float = Field(0.3, ge=0, description="seconds, a number, e.g. 0.3")
    rps: float | None = Field(None, gt=0, description="community token requests per second, e.g. 20")
    rest_rps: float | None = Field(None, gt=0, description="service or user token requests per second, e.g. 3")

    @field_validator("group_id", mode="before")
    @classmethod
    def _plain_number(cls, v: Any) -> Any:
        """People paste the community's address ('club218000001', 'public…') or the wall's
        owner_id (-218000001): say what is meant instead of 'Input should be a valid integer'."""
        if isinstance(v, str) and not v.strip().isdigit():
            raise ValueError(f"{GROUP_ID_HINT}, not {v!r}")
        if isinstance(v, int) and not isinstance(v, bool) and v < 0:
            raise ValueError(f"{GROUP_ID_HINT}, without the minus (not {v})")
        if isinstance(v, str) and re.fullmatch(r"\s*\d+\s*", v):
            return int(v)
        return v
