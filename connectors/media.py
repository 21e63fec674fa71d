"""The bytes of a reply's attachments, for the connectors that upload them.

A file of ours (an answer's, `id = "sha256:<hex>"`) is read from the attachment store; anything
else is fetched from its URL with the same limits. A file that is missing, too large or refused
fails the delivery (Fatal): an answer must not go out without its photos. A server error or a
dropped connection while fetching is Transient and retried. Uploading is not posting: a retried
upload leaves at most an unused file on the platform, never a second answer.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

import httpx

from connectors.errors import Fatal, Transient
from otklik.models import Attachment

MAX_FILE_BYTES = 50 * 1024 * 1024  # the largest our uploads take (otklik.attachments.checks.LIMITS)
STORE_PREFIX = "sha256:"


@dataclass(frozen=True)
class Blob:
    name: str
    mime: str
    data: bytes
    kind: str  # photo | video | doc


def is_stored(att: Attachment) -> bool:
    return bool(att.id and att.id.startswith(STORE_PREFIX))


async def load(att: Attachment, http: httpx.AsyncClient | None, *, platform: str, index: int = 1,
               limit: int = MAX_FILE_BYTES) -> Blob:
    kind = att.type if att.type in ("photo", "video", "doc") else "doc"
    if is_stored(att):
        from otklik.attachments.store import StoreUnavailable, default_store

        try:  # in a thread: the store may be a network one (S3)
            data = await asyncio.to_thread(default_store().get, att.id[len(STORE_PREFIX):])
        except FileNotFoundError:
            raise Fatal(f"attachment {index} is missing from the attachment store", platform=platform) from None
        except StoreUnavailable as exc:  # nothing was sent yet: the outbox tries the delivery again
            raise Transient(f"attachment {index}: {exc}", platform=platform) from None
        return Blob(att.name or f"file{index}", att.mime or "application/octet-stream", data, kind)
    if not att.url or urlsplit(att.url).scheme not in ("http", "https") or http is None:
        raise Fatal(f"attachment {index} has neither a stored file nor a web address", platform=platform)
    data, mime = await fetch(http, att.url, platform=platform, what=f"attachment {index}", limit=limit)
    name = att.name or unquote(PurePosixPath(urlsplit(att.url).path).name) or f"file{index}"
    return Blob(name, att.mime or mime, data, kind)


async def fetch(http: httpx.AsyncClient, url: str, *, platform: str, what: str,
                limit: int = MAX_FILE_BYTES) -> tuple[bytes, str]:
    """GET a file, streaming and stopping at `limit`: (bytes, the content type it was served with)."""
    try:
        async with http.stream("GET", url, follow_redirects=True) as resp:
            if resp.status_code >= 500:
                raise Transient(f"{what}: HTTP {resp.status_code}", platform=platform, code=resp.status_code)
            if resp.status_code >= 400:
                raise Fatal(f"{what}: HTTP {resp.status_code}", platform=platform, code=resp.status_code)
            declared = resp.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise Fatal(f"{what} is larger than {limit // (1024 * 1024)} MB", platform=platform)
            buf = bytearray()
            async for chunk in resp.aiter_bytes():
                buf += chunk
                if len(buf) > limit:
                    raise Fatal(f"{what} is larger than {limit // (1024 * 1024)} MB", platform=platform)
            mime = resp.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
            return bytes(buf), mime or "application/octet-stream"
    except httpx.HTTPError as exc:
        raise Transient(f"{what} unreachable: {type(exc).__name__}", platform=platform) from None


def web_url(att: Attachment, *, platform: str, index: int = 1) -> str:
    """The address a platform that takes files by URL (the regional ones) fetches: a signed link to
    our stored file at `public_url`, or the attachment's own web address."""
    if is_stored(att):
        from otklik.attachments.links import link_for

        url = link_for(att.id[len(STORE_PREFIX):], att.name or f"file{index}")
        if url is None:
            raise Fatal(f"{platform} takes an answer's files by link: set public_url (OTKLIK_PUBLIC_URL) to the "
                        "address the platform reaches this installation at", platform=platform)
        return url
    if att.url and urlsplit(att.url).scheme in ("http", "https"):
        return att.url
    raise Fatal(f"attachment {index} has neither a stored file nor a web address", platform=platform)
