"""What a connector raises, classified from the platform's error codes (never from message text)."""

from __future__ import annotations

from otklik.exceptions import OtklikError


class ConnectorError(OtklikError):
    kind = "fatal"

    def __init__(self, message: str, *, platform: str = "", code: int | str | None = None,
                 alert: bool = False) -> None:
        super().__init__(message)
        self.platform = platform
        self.code = code
        self.alert = alert  # needs an operator (captcha, wrong token type), not just a retry

    def as_dict(self) -> dict:
        return {"error": self.kind, "platform": self.platform, "code": self.code, "message": str(self)}


class AuthFailed(ConnectorError):
    """Token revoked, expired or of the wrong type: pause the source, alert once."""

    kind = "auth_failed"


class RateLimited(ConnectorError):
    kind = "rate_limited"

    def __init__(self, message: str, *, retry_after: float = 1.0, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after

    def as_dict(self) -> dict:
        return {**super().as_dict(), "retry_after": self.retry_after}


class Transient(ConnectorError):
    """5xx, timeouts, internal errors: retry with backoff."""

    kind = "transient"


class Fatal(ConnectorError):
    """Deleted post, closed comments, blocked bot, malformed payload: retrying will not help."""

    kind = "fatal"


class Malformed(Fatal):
    """A payload that is not of any shape the platform documents (not JSON, wrong types, missing
    keys). Parsers raise this and nothing else for a whole payload they cannot read; a single bad
    item inside a good payload is not an error but a `Batch.rejected` entry."""

    kind = "malformed"
