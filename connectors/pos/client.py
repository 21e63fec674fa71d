"""ПОС HTTP client: OAuth2 password grant with the client's Basic credentials, the token renewed
before it expires (refresh_token, else the password grant again), one re-authentication on a 401,
our rate limit before every call (the shared connectors/transport.py), errors classified by HTTP
status and OAuth error code."""

from __future__ import annotations

import time
from typing import Any

import httpx

from connectors.errors import AuthFailed, Fatal, RateLimited, Transient
from connectors.ratelimit import Limiter
from connectors.transport import Transport, limit_key, read_retrying

PLATFORM = "pos"
API = "https://pos.gosuslugi.ru"
TOKEN_PATH = "/user-service/oauth/token"
# Files for answers: multipart field `file`, answered `{id, name, size, contentType, temporary, avatar,
# previewUrl, url}`; the answer names the ids in `attachmentIds` (public client code, README).
FILES_PATH = "/file-storage-service/filestorage"
RENEW_BEFORE = 60.0  # seconds: renew a token this long before it expires
OAUTH_AUTH_CODES = {
    "invalid_grant",
    "invalid_client",
    "unauthorized_client",
    "unauthorized",
    "invalid_token",
    "access_denied",
    "unsupported_grant_type",
    "invalid_scope",
}


def raise_for_error(body: Any, status: int, retry_after: str | None = None) -> None:
    """Spring OAuth2 bodies `{"error": "<code>", "error_description"}` and Spring Boot error
    bodies `{"status", "error", "message", "messages"}` -> our errors (by status and code)."""
    code = body.get("error") if isinstance(body, dict) else None
    messages = body.get("messages") if isinstance(body, dict) else None
    detail = (body.get("error_description") or body.get("message") or "") if isinstance(body, dict) else ""
    detail = str(detail or (messages[0] if messages else "") or f"HTTP {status}")[:300]
    if status == 429:
        raise RateLimited(detail, retry_after=float(retry_after or 1), platform=PLATFORM, code=429)
    if status in (401, 403) or code in OAUTH_AUTH_CODES:
        raise AuthFailed(detail, platform=PLATFORM, code=code or status, alert=status == 403)
    if status >= 500:
        raise Transient(detail, platform=PLATFORM, code=status)
    raise Fatal(detail, platform=PLATFORM, code=status)


class PosClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        username: str,
        password: str,
        client_id: str,
        client_secret: str,
        base_url: str | None,
        limiter: Limiter,
        rps: int = 8,
        read_attempts: int = 4,
        retry_wait: float = 0.2,
    ) -> None:
        self.credentials = {"username": username, "password": password}
        self.client_auth = (client_id, client_secret)
        self.read_attempts = read_attempts
        self.retry_wait = retry_wait
        key = limit_key("pos", f"{client_id}:{username}")
        self.transport = Transport(http, base_url or API, limiter, key, rps, PLATFORM)
        self.access: str | None = None
        self.refresh: str | None = None
        self.expires_at = 0.0
        self.authentications = 0  # how many tokens we asked for (tests: renewal, not per call)

    async def _grant(self, form: dict[str, str]) -> None:
        r = await self.transport.send(
            "POST", TOKEN_PATH, data={**form, "scope": "any"}, auth=self.client_auth
        )
        body = self.transport.decode(r, "token")
        if r.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
            raise_for_error(
                body, r.status_code if r.status_code != 200 else 502, r.headers.get("Retry-After")
            )
        self.authentications += 1
        self.access = body["access_token"]
        self.refresh = body.get("refresh_token")
        self.expires_at = time.monotonic() + float(body.get("expires_in", 300))

    async def authenticate(self) -> None:
        """Refresh if we can, else the password grant; AuthFailed when the platform refuses both."""
        if self.refresh:
            try:
                await self._grant({"grant_type": "refresh_token", "refresh_token": self.refresh})
                return
            except AuthFailed:
                self.refresh = None  # expired or revoked: fall back to the password
        await self._grant({"grant_type": "password", **self.credentials})

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        body: dict | None = None,
        files: dict | None = None,
    ) -> Any:
        if self.access is None or time.monotonic() >= self.expires_at - RENEW_BEFORE:
            await self.authenticate()
        for attempt in (1, 2):
            r = await self.transport.send(
                method,
                path,
                params=params,
                json=body,
                files=files,
                headers={"Authorization": f"Bearer {self.access}"},
            )
            data = self.transport.decode(r, f"{method} {path}")
            if r.status_code == 401 and attempt == 1:
                # Expired or revoked early: one fresh token, then the same request once more.
                self.access = None
                await self.authenticate()
                continue
            if r.status_code >= 300:
                raise_for_error(data, r.status_code, r.headers.get("Retry-After"))
            return data
        raise AssertionError("unreachable")

    async def get(self, path: str, **params: Any) -> Any:
        """Reads retry transient failures with jittered backoff."""
        query = {k: v for k, v in params.items() if v is not None}
        async for attempt in read_retrying(self.read_attempts, self.retry_wait):
            with attempt:
                data = await self.call("GET", path, params=query)
        return data

    async def acknowledge(self, path: str, **params: Any) -> Any:
        """mark-accepted is idempotent, so it is retried like a read."""
        async for attempt in read_retrying(self.read_attempts, self.retry_wait):
            with attempt:
                data = await self.call("POST", path, params=params)
        return data

    async def upload(self, name: str, data: bytes, mime: str) -> Any:
        """One file to the file storage, for an answer's `attachmentIds`. Retried like a read: a
        stored file is not an answer, a retry leaves an unused file at worst."""
        async for attempt in read_retrying(self.read_attempts, self.retry_wait):
            with attempt:
                stored = await self.call("POST", FILES_PATH, files={"file": (name, data, mime)})
        return stored

    async def post(self, path: str, body: dict) -> Any:
        """An answer or action: not retried here (the worker owns send retries)."""
        return await self.call("POST", path, body=body)
