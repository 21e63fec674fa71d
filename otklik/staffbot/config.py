"""`[staff_bot]` in otklik.toml: the staff bot's tokens (references, never the tokens), where its
APIs are (the emulators' addresses in the sandbox) and which platforms are on.

    [staff_bot]
    telegram = true
    telegram_token = "env:OTKLIK_STAFF_TELEGRAM_TOKEN"
    telegram_username = "adm_staff_bot"      # for the https://t.me/<name>?start=<code> link
    max = true
    max_token = "file:/run/secrets/staff_max_token"
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from otklik import secretref


class StaffBotSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is reported, not ignored

    telegram: bool = False
    telegram_token: str | None = None
    telegram_base_url: str | None = Field(None, pattern=r"^https?://[^\s]+$")
    telegram_username: str | None = Field(None, pattern=r"^[A-Za-z0-9_]{3,64}$")
    max: bool = False
    max_token: str | None = None
    max_base_url: str | None = Field(None, pattern=r"^https?://[^\s]+$")
    max_username: str | None = Field(None, pattern=r"^[A-Za-z0-9_]{3,64}$")
    # A PEM bundle holding the Минцифры root that signs platform-api2.max.ru (see connectors/max).
    max_ca_bundle: str | None = None
    poll_timeout: int = Field(25, ge=0, le=50)  # seconds a long poll waits for the bots' updates

    @field_validator("telegram_token", "max_token")
    @classmethod
    def _reference_only(cls, v: str | None) -> str | None:
        return secretref.check(v, "token")

    @model_validator(mode="after")
    def _token_when_on(self) -> StaffBotSettings:
        for platform in ("telegram", "max"):
            if getattr(self, platform) and not getattr(self, f"{platform}_token"):
                raise ValueError(f"{platform} = true needs {platform}_token = \"env:VAR\" or \"file:/path\"")
        return self

    def enabled(self) -> list[str]:
        """The platforms whose staff bot is on."""
        return [p for p in ("telegram", "max") if getattr(self, p)]

    def token(self, platform: str) -> str | None:
        """The platform's bot token, read from its reference now (None: off, or not found)."""
        if platform not in self.enabled():
            return None
        return secretref.read(getattr(self, f"{platform}_token"))

    def base_url(self, platform: str) -> str | None:
        return getattr(self, f"{platform}_base_url")

    def deep_link(self, platform: str, code: str) -> str | None:
        """A link that opens the bot with `/start CODE` already sent (Telegram) or as the
        `bot_started` payload (MAX), when the bot's username is configured."""
        name = getattr(self, f"{platform}_username", None)
        if not name:
            return None
        return f"https://t.me/{name}?start={code}" if platform == "telegram" else f"https://max.ru/{name}?start={code}"

    def problems(self) -> list[str]:
        """What `otklik config check` reports beyond the model's own validation: a token that is
        configured but not found where its reference points."""
        return [f"[staff_bot] {p}_token: not found ({getattr(self, f'{p}_token')})"
                for p in self.enabled() if self.token(p) is None]
