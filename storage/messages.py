"""Messages and cursors: the idempotent upsert a stream commits together with its cursor."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from otklik.models import Batch, EventKind, Message, StatusChange
from otklik.sanitize import clean_json, clean_optional, clean_text, clip
from storage import quarantine
from storage.quarantine import Unstorable
from storage.tables import CursorRow, MessageRow, OutboxRow, PlatformEventRow, now

log = logging.getLogger("otklik.storage")

# A stored text larger than this is cut (the full payload stays in `raw`): nobody answers a
# megabyte, but the message must not be lost or crash the moderation.
MAX_TEXT = 64_000
MAX_INT = 2**31 - 1  # an INTEGER column on PostgreSQL


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
    quarantined: int = 0  # items set aside (rejected by the parser or refused by the store)

    def __add__(self, other: IngestResult) -> IngestResult:
        return IngestResult(
            self.new + other.new, self.updated + other.updated, self.deleted + other.deleted,
            self.duplicates + other.duplicates, self.own_replies + other.own_replies,
            self.status_changes + other.status_changes, self.stored_ids + other.stored_ids,
            quarantined=self.quarantined + other.quarantined)


def _insert(session: Session):
    return (postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert)


def _key(value: str, column: str, limit: int) -> str:
    """An identifying value (id, source) is cleaned but never cut: a cut id could merge two
    messages or authors, so one too long is refused and the item quarantined."""
    value = clean_text(value)
    if len(value) > limit:
        raise Unstorable(f"{column} is longer than {limit} characters")
    return value


def _values(source: str, m: Message) -> dict:
    """The row of a message, every text cleaned (otklik.sanitize) so that SQLite and PostgreSQL
    both take it; display fields are cut to their columns, ids are refused when too long."""
    reply_to = clean_optional(m.reply_to)
    return dict(
        source=_key(source, "source", 100), platform=m.platform.value,
        external_id=_key(m.external_id, "external_id", 200),
        thread=clean_json(m.thread.model_dump()), author_id=_key(m.author.id, "author_id", 100),
        author_name=clip(m.author.name, 300), author_url=clip(m.author.url, 500),
        text=clean_text(m.text[:MAX_TEXT]), created_at=m.created_at, url=clip(m.url, 1000),
        attachments=clean_json([a.model_dump() for a in m.attachments]),
        reply_to=reply_to if reply_to is None or len(reply_to) <= 200 else None,  # a cut id points nowhere
        edited_at=m.edited_at, platform_topic=clip(m.platform_topic, 300),
        platform_topic_group=clip(m.platform_topic_group, 300), fast_track=m.fast_track,
        platform_deadline=m.platform_deadline, engagement=max(0, min(m.engagement, MAX_INT)),
        raw=clean_json(m.raw), stored_at=now(), processed=False, revision=1, pipeline_attempts=0)


def _own_reply_ids(session: Session, source: str, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    rows = session.execute(select(OutboxRow.external_id).where(
        OutboxRow.source == source, OutboxRow.external_id.in_(ids)))
    return {r[0] for r in rows}


def _store_message(session: Session, source: str, m: Message, own: set[str]) -> tuple[str, int | None]:
    """Store one message; returns what happened (a field of IngestResult) and the row id if the
    pipeline must look at it."""
    external_id = clean_text(m.external_id)
    if external_id in own:
        return "own_replies", None  # our own reply seen again on the platform: never a citizen message
    existing = session.execute(select(MessageRow).where(
        MessageRow.source == source, MessageRow.external_id == external_id)).scalar_one_or_none()
    if m.event == EventKind.DELETE:
        if existing is not None and existing.deleted_at is None:
            existing.deleted_at = m.edited_at or now()
            session.flush()
            return "deleted", None
        return "", None  # unknown or already deleted: nothing to count
    if existing is None:
        stmt = _insert(session)(MessageRow).values(**_values(source, m)).on_conflict_do_nothing(
            index_elements=["source", "external_id"]).returning(MessageRow.id)
        new_id = session.execute(stmt).scalar_one_or_none()
        return ("duplicates", None) if new_id is None else ("new", new_id)
    text = clean_text(m.text[:MAX_TEXT])
    restored = m.event == EventKind.RESTORE and existing.deleted_at is not None
    if restored:
        existing.deleted_at = None  # back on the platform: answerable again
    changes_text = m.event == EventKind.EDIT or (m.event == EventKind.RESTORE and bool(text))
    if changes_text and text != existing.text:
        existing.text = text
        existing.edited_at = m.edited_at or now()
        existing.revision += 1
        existing.processed = False  # moderate and route the new text again
        existing.pipeline_attempts, existing.pipeline_error = 0, None  # a new text gets new tries
        session.flush()  # inside the savepoint: a refused update is this item's failure alone
        return "updated", existing.id
    if restored:
        session.flush()
        return "updated", None  # the same text as before: nothing to moderate or route again
    return "duplicates", None


def _store_status_change(session: Session, source: str, change: StatusChange) -> bool:
    stmt = _insert(session)(PlatformEventRow).values(
        source=source, external_id=_key(change.external_id, "external_id", 200),
        status=_key(change.status, "status", 40), comment=clean_optional(change.comment),
        rating=change.rating, at=change.at, raw=clean_json(change.raw), processed=False,
    ).on_conflict_do_nothing(index_elements=["source", "external_id", "status", "at"]).returning(
        PlatformEventRow.id)
    return session.execute(stmt).scalar_one_or_none() is not None


def ingest(session: Session, source: str, batch: Batch, platform: str | None = None) -> IngestResult:
    """Store a batch and, in the same transaction, its cursor. Safe to call again with the same
    batch: `(source, external_id)` is unique and re-deliveries count as duplicates.

    Each message and status change is stored in its own savepoint: one the database refuses is
    quarantined (with its payload and the error class) and the rest of the batch, and the cursor,
    go on. Items the parser rejected are quarantined too. Only a failure of the whole transaction
    (the database gone) leaves the cursor where it was."""
    result = IngestResult()
    platform = platform or (batch.messages[0].platform.value if batch.messages else None)
    own = _own_reply_ids(session, source, [clean_text(m.external_id) for m in batch.messages])
    for m in batch.messages:
        try:
            with session.begin_nested():
                what, row_id = _store_message(session, source, m, own)
        except Exception as exc:
            if quarantine.is_database_fault(exc):  # the database, not the item: the batch fails, the poll is retried
                raise quarantine.unavailable(exc) from None
            _set_aside(session, source, m.platform.value, m.external_id, exc,
                       {"message": m.model_dump(mode="json")}, result)
            continue
        if what:
            setattr(result, what, getattr(result, what) + 1)
        if row_id is not None:
            result.stored_ids.append(row_id)
    for change in batch.status_changes:
        try:
            with session.begin_nested():
                result.status_changes += _store_status_change(session, source, change)
        except Exception as exc:
            if quarantine.is_database_fault(exc):  # the database, not the item: the batch fails, the poll is retried
                raise quarantine.unavailable(exc) from None
            _set_aside(session, source, platform, change.external_id, exc,
                       {"status_change": change.model_dump(mode="json")}, result)
    for item in batch.rejected:
        # The parser's reason is not logged: it is the parser's text, and may quote the item.
        log.warning("item quarantined", extra={"source": source, "stage": "ingest", "reason": "rejected by the parser"})
        quarantine.add(session, source=source, stage="ingest", platform=platform, external_id=item.external_id,
                       reason=f"rejected by the parser: {item.reason}", raw={"rejected": item.raw})
        result.quarantined += 1
    result.has_more = batch.has_more
    if batch.next_cursor is not None:
        set_cursor(session, source, batch.next_cursor)
    return result


def _set_aside(session: Session, source: str, platform: str | None, external_id: str, exc: Exception,
               raw: dict, result: IngestResult) -> None:
    reason = quarantine.reason_of(exc)
    log.warning("item quarantined", extra={"source": source, "stage": "ingest", "reason": reason})
    quarantine.add(session, source=source, stage="ingest", platform=platform, external_id=external_id,
                   reason=reason, raw=raw)
    result.quarantined += 1


def store_again(session: Session, source: str, raw: dict) -> str | None:
    """Store a quarantined normalized message or status change again (quarantine.retry); returns
    None on success, else the reason it failed again."""
    try:
        with session.begin_nested():
            if "message" in raw:
                m = Message.model_validate(raw["message"])
                _store_message(session, source, m, _own_reply_ids(session, source, [clean_text(m.external_id)]))
            else:
                _store_status_change(session, source, StatusChange.model_validate(raw["status_change"]))
    except Exception as exc:
        if quarantine.is_database_fault(exc):
            raise quarantine.unavailable(exc) from None
        return quarantine.reason_of(exc)
    return None


def set_cursor(session: Session, source: str, cursor: str) -> None:
    cursor = clean_text(cursor)
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
