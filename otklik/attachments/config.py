"""`[attachments]` in otklik.toml: where accepted files are kept.

```toml
[attachments]
backend = "s3"                      # "disk" (default): <var>/attachments
bucket = "otklik-files"
endpoint_url = "https://s3.example.ru"   # any S3-compatible store; omit for AWS itself
region = "ru-central1"
access_key_id = "env:OTKLIK_S3_KEY_ID"          # references, never the keys themselves
secret_access_key = "file:/run/secrets/s3_secret"
```

Pure settings: no S3 client is imported here (otklik.attachments.s3 does that when the backend is used).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from otklik import secretref

REFERENCE_HINT = "a reference 'env:VAR' or 'file:/path', never the key itself"


class AttachmentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")  # `[attachments] buckt = …` is a mistake to report

    backend: Literal["disk", "s3"] = "disk"
    bucket: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    endpoint_url: str | None = Field(None, pattern=r"^https?://[^\s/]+(/[^\s]*)?$")
    region: str = "us-east-1"
    prefix: str = Field("attachments/", pattern=r"^([A-Za-z0-9._-]+/)*$")  # keys: <prefix>ab/cdef…
    access_key_id: str | None = None
    secret_access_key: str | None = None
    timeout: float = Field(10.0, gt=0, le=300)  # seconds to connect and to read, per attempt
    attempts: int = Field(3, ge=1, le=10)  # the S3 client's own retries of 5xx, throttling, resets

    @field_validator("access_key_id", "secret_access_key")
    @classmethod
    def _reference_only(cls, v: str | None) -> str | None:
        if v is not None and not (v.startswith("env:") or v.startswith("file:")):
            raise ValueError(f"must be {REFERENCE_HINT}")  # secretref.check's words name the key itself
        return v

    def credentials(self) -> tuple[str | None, str | None]:
        return secretref.read(self.access_key_id), secretref.read(self.secret_access_key)

    def problems(self) -> list[str]:
        """What `otklik config check` reports about this section (names only, never values)."""
        if self.backend != "s3":
            return []
        out = []
        if not self.bucket:
            out.append("[attachments] backend = \"s3\" needs bucket")
        key_id, secret = self.credentials()
        for name, ref, value in (("access_key_id", self.access_key_id, key_id),
                                 ("secret_access_key", self.secret_access_key, secret)):
            if ref is None:
                out.append(f"[attachments] {name} is not set ({REFERENCE_HINT})")
            elif value is None:
                out.append(f"[attachments] {name}: nothing found at {ref}")
        return out
