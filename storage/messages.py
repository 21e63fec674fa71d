"""Messages and cursors: the idempotent upsert a stream commits together with its cursor."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from otklik.models import Batch, EventKind, Message
from storage.tables import CursorRow, MessageRow, OutboxRow, PlatformEventRow, now

# A stored text larger than this is cut (the full payload stays in `raw`): nobody answers a
# megabyte, but the message must not be lost or crash the moderation.
MAX_TEXT = 64_000


@dataclass
class IngestResult:
    new: int = 0
    updated: int = 0
    deleted: int = 0
    duplicates: int = 0
    own_replies: int = 0
    status_changes: int = 0
    stored_ids: list[int] = field(default_factory=list)
    has_more: bool = False  # the source said more is waiting: poll again at once

    def __add__(self, other: IngestResult) -> IngestResult:
        return IngestResult(
            self.new + other.new, self.updated + other.updated, self.deleted + other.deleted,
            self.duplicates + other.duplicates, self.own_replies + other.own_replies,
            self.status_changes + other.status_changes, self.stored_ids + other.stored_ids)


def _insert(session: Session):
    return (postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert)


def _values(source: str, m: Message) -> dict:
    return dict(
        source=source, platform=m.platform.value, external_id=m.external_id,
        thread=m.thread.model_dump(), author_id=m.author.id, author_name=m.author.name,
        author_url=m.author.url, text=m.text[:MAX_TEXT], created_at=m.created_at, url=m.url,
        attachments=[a.model_dump() for a in m.attachments], reply_to=m.reply_to,
        edited_at=m.edited_at, platform_topic=m.platform_topic,
        platform_topic_group=m.platform_topic_group, fast_track=m.fast_track,
        platform_deadline=m.platform_deadline, engagement=m.engagement,
        raw=m.raw, stored_at=now(), processed=False, revision=1)


def _own_reply_ids(session: Session, source: str, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    rows = session.execute(select(OutboxRow.external_id).where(
        OutboxRow.source == source, OutboxRow.external_id.in_(ids)))
    return {r[0] for r in rows}


def ingest(session: Session, source: str, batch: Batch) -> IngestResult:
    """Store a batch and, in the same transaction, its cursor. Safe to call again with the same
    batch: `(source, external_id)` is unique and re-deliveries count as duplicates."""
    result = IngestResult()
    own = _own_reply_ids(session, source, [m.external_id for m in batch.messages])
    insert = _insert(session)
    for m in batch.messages:
        if m.external_id in own:
            result.own_replies += 1  # our own reply seen again on the platform: never a citizen message
            continue
        existing = session.execute(select(MessageRow).where(
            MessageRow.source == source, MessageRow.external_id == m.external_id)).scalar_one_or_none()
        if m.event == EventKind.DELETE:
            if existing is not None and existing.deleted_at is None:
                existing.deleted_at = m.edited_at or now()
                result.deleted += 1
            continue
        if existing is None:
            stmt = insert(MessageRow).values(**_values(source, m)).on_conflict_do_nothing(
                index_elements=["source", "external_id"]).returning(MessageRow.id)
            new_id = session.execute(stmt).scalar_one_or_none()
            if new_id is None:
                result.duplicates += 1
            else:
                result.new += 1
                result.stored_ids.append(new_id)
            continue
        if m.event == EventKind.EDIT and m.text[:MAX_TEXT] != existing.text:
            existing.text = m.text[:MAX_TEXT]
            existing.edited_at = m.edited_at or now()
            existing.revision += 1
            existing.processed = False  # moderate and route the new text again
            result.updated += 1
            result.stored_ids.append(existing.id)
        else:
            result.duplicates += 1
    for change in batch.status_changes:
        stmt = insert(PlatformEventRow).values(
            source=source, external_id=change.external_id, status=change.status, comment=change.comment,
            rating=change.rating, at=change.at, raw=change.raw, processed=False,
        ).on_conflict_do_nothing(index_elements=["source", "external_id", "status", "at"]).returning(
            PlatformEventRow.id)
        result.status_changes += session.execute(stmt).scalar_one_or_none() is not None
    result.has_more = batch.has_more
    if batch.next_cursor is not None:
        set_cursor(session, source, batch.next_cursor)
    return result


def set_cursor(session: Session, source: str, cursor: str) -> None:
    stmt = _insert(session)(CursorRow).values(source=source, cursor=cursor, updated_at=now())
    stmt = stmt.on_conflict_do_update(index_elements=["source"],
                                      set_={"cursor": cursor, "updated_at": now()})
    session.execute(stmt)


def get_cursor(session: Session, source: str) -> str | None:
    return session.execute(select(CursorRow.cursor).where(CursorRow.source == source)).scalar_one_or_none()


def count(session: Session, source: str | None = None) -> int:
    stmt = select(func.count(MessageRow.id))
    if source is not None:
        stmt = stmt.where(MessageRow.source == source)
    return session.execute(stmt).scalar_one()


def unprocessed(session: Session, limit: int = 200) -> list[MessageRow]:
    stmt = select(MessageRow).where(MessageRow.processed.is_(False)).order_by(MessageRow.id).limit(limit)
    return list(session.execute(stmt).scalars())


def mark_processed(session: Session, message_id: int, revision: int) -> bool:
    """Mark done only the revision we processed: an edit that arrived meanwhile stays pending."""
    stmt = update(MessageRow).where(MessageRow.id == message_id, MessageRow.revision == revision).values(
        processed=True)
    return bool(session.execute(stmt).rowcount)
