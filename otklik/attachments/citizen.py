"""Citizens' own photos and files: fetched from the URLs their platform gave with the message,
through that source's connector client (its TLS settings and proxies), under the same limits and
checks as our uploads (otklik.attachments.checks: type from the bytes, size, images decoded, the
EXIF location removed — it is the citizen's personal data), stored, and shown to the executor with
the case (`GET /api/cases/{id}/message/attachments`).

A daemon loop (`CitizenFiles.step`). Each (message, URL) is tried until it is stored or refused for
good: a refused file (too large, not an allowed type, gone) is kept as a removed row with the reason,
so it is not fetched again; a server error or timeout leaves it for the next pass. The unique key
(message_id, source_url) makes two daemons or a crash between fetch and commit harmless.
Telegram gives file ids, not URLs: the connector's `file_url` (getFile) gives a short-lived address,
used at once and never stored (it holds the bot token); the row keeps `file-id:<id>`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from connectors import media
from connectors.errors import ConnectorError, Fatal, Transient
from otklik.attachments import checks
from otklik.attachments.store import Store, StoreUnavailable, default_store
from storage.tables import AttachmentRow, CaseRow, MessageRow, now

log = logging.getLogger("otklik.attachments")
KINDS = {"photo": "photo", "image": "photo", "video": "video", "doc": "doc", "file": "doc"}
RECENT = timedelta(days=30)  # older messages are not fetched any more (their links expire)
BATCH = 20
FILE_ID = "file-id:"


@dataclass(frozen=True)
class Wanted:
    message_id: int
    source: str
    url: str


def wanted(session, limit: int = BATCH) -> list[Wanted]:
    """Files of recent messages with a case that are neither stored nor refused yet."""
    rows = session.execute(
        select(MessageRow.id, MessageRow.source, MessageRow.attachments)
        .join(CaseRow, CaseRow.message_id == MessageRow.id)
        .where(MessageRow.stored_at >= now() - RECENT).order_by(MessageRow.id.desc()).limit(500)).all()
    candidates = [Wanted(mid, source, ref) for mid, source, atts in rows for a in atts or []
                  if isinstance(a, dict) and KINDS.get(str(a.get("type"))) and (ref := _ref(a))]
    if not candidates:
        return []
    done = set(session.execute(select(AttachmentRow.message_id, AttachmentRow.source_url).where(
        AttachmentRow.message_id.in_({c.message_id for c in candidates}))).all())
    return [c for c in candidates if (c.message_id, c.url) not in done][:limit]


def _ref(att: dict) -> str | None:
    """What the file is known by: its URL, or `file-id:<id>` where the platform gives ids only
    (Telegram: the connector's file_url asks for a download address, which is never stored)."""
    url = att.get("url")
    if isinstance(url, str) and urlsplit(url).scheme in ("http", "https") and len(url) <= 1000:
        return url
    ident = att.get("id")
    return f"{FILE_ID}{ident}" if isinstance(ident, str) and ident and len(ident) <= 900 else None


def record(session, item: Wanted, accepted: checks.Accepted | None, key: str | None, refused: str | None) -> None:
    row = AttachmentRow(message_id=item.message_id, origin="citizen", source_url=item.url, created_by="connector",
                        created_at=now(), location_kept=False)
    if accepted is None:
        row.kind, row.mime, row.size, row.sha256, row.filename = "doc", "application/octet-stream", 0, "", "-"
        row.removed_at, row.removed_by = now(), f"refused: {refused}"[:100]
    else:
        name = "" if item.url.startswith(FILE_ID) else urlsplit(item.url).path.rsplit("/", 1)[-1]
        row.kind, row.mime, row.size, row.sha256 = accepted.kind, accepted.mime, len(accepted.data), key
        row.filename = checks.safe_filename(name, accepted.mime)
        row.width, row.height = accepted.width, accepted.height
    session.add(row)


class CitizenFiles:
    def __init__(self, db, connectors: dict, store: Store | None = None) -> None:
        self.db = db
        self.connectors = connectors
        self.store = store or default_store()

    async def step(self) -> float:
        todo = await asyncio.to_thread(self._read)
        for item in todo:
            await self.fetch_one(item)
        return 2.0 if len(todo) == BATCH else 30.0

    def _read(self) -> list[Wanted]:
        with self.db.session() as s:
            return wanted(s)

    async def fetch_one(self, item: Wanted) -> None:
        conn = self.connectors.get(item.source)
        if conn is None:
            return
        accepted, key, refused = None, None, None
        try:
            url = item.url
            if url.startswith(FILE_ID):
                url = await conn.file_url(url[len(FILE_ID):])
                if url is None:
                    raise Fatal("the platform gives no address for this file", platform=str(conn.config.platform))
            data, _ = await media.fetch(conn.http, url, platform=str(conn.config.platform),
                                        what="a citizen's file", limit=checks.MAX_UPLOAD)
            accepted = checks.inspect(data)
            key = await asyncio.to_thread(self.store.put, accepted.data)
        except Transient:
            return  # the next pass tries again
        except StoreUnavailable as exc:  # fetched, but our own store is down: the next pass tries again
            log.warning("citizen file not stored", extra={"message_id": item.message_id, "error": str(exc)})
            return
        except checks.Rejected as exc:
            refused = f"{exc.status} {exc}"
        except ConnectorError as exc:
            refused = exc.kind + (f" {exc.code}" if exc.code else "")
        await asyncio.to_thread(self._write, item, accepted, key, refused)
        log.info("citizen file", extra={"message_id": item.message_id, "stored": accepted is not None,
                                         "refused": refused})

    def _write(self, item: Wanted, accepted, key, refused) -> None:
        try:
            with self.db.session() as s:
                record(s, item, accepted, key, refused)
        except IntegrityError:
            pass  # another daemon stored it first
