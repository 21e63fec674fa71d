from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from otklik.models import Author, Batch, EventKind, Message, Platform, StatusChange, Thread
from storage import audit


def msg(ext: str, text: str = "Когда починят фонарь на улице Мира?", event=EventKind.NEW) -> Message:
    return Message(source="tg", platform=Platform.TELEGRAM, external_id=ext,
                   thread=Thread(kind="chat", ids={"chat_id": 1, "message_id": int(ext)}),
                   author=Author(id="42", name="Житель"), text=text,
                   created_at=datetime(2026, 1, 12, 9, 0, tzinfo=UTC), event=event)


def test_ingest_is_idempotent_and_commits_cursor(db):
    first = db.ingest("tg", Batch(messages=[msg("1"), msg("2")], next_cursor="3"))
    again = db.ingest("tg", Batch(messages=[msg("2"), msg("3")], next_cursor="4"))
    assert (first.new, again.new, again.duplicates) == (2, 1, 1)
    assert db.count_messages("tg") == 3
    assert db.get_cursor("tg") == "4"


def test_one_refused_message_does_not_fail_the_batch(db):
    """It used to roll the whole batch back, and the poller retried it forever; now the refused
    message is quarantined, the good one stored and the cursor moves (tests/storage/test_quarantine.py)."""
    db.ingest("tg", Batch(messages=[msg("1")], next_cursor="2"))
    bad = msg("2")
    bad.created_at = None  # type: ignore[assignment]  # violates NOT NULL inside the transaction
    result = db.ingest("tg", Batch(messages=[msg("5"), bad], next_cursor="9"))
    assert (result.new, result.quarantined) == (1, 1)
    assert db.get_cursor("tg") == "9"
    assert db.count_messages("tg") == 2


def test_edit_updates_text_and_requeues_delete_marks(db):
    db.ingest("tg", Batch(messages=[msg("1")]))
    r = db.ingest("tg", Batch(messages=[msg("1", "Исправил: фонарь на улице Мира, дом 5", EventKind.EDIT)]))
    assert r.updated == 1
    from storage.tables import MessageRow

    with db.session() as s:
        row = s.execute(sa.select(MessageRow)).scalar_one()
        assert row.text.endswith("дом 5") and row.revision == 2 and row.processed is False
    db.ingest("tg", Batch(messages=[msg("1", "", EventKind.DELETE)]))
    with db.session() as s:
        assert s.execute(sa.select(MessageRow)).scalar_one().deleted_at is not None


def test_huge_text_is_kept_truncated_not_lost(db):
    db.ingest("tg", Batch(messages=[msg("1", "я" * 1_000_000)]))
    assert db.count_messages() == 1


def test_status_changes_stored_once(db):
    at = datetime(2026, 1, 12, 10, 0, tzinfo=UTC)
    change = StatusChange(external_id="inc-1", status="approved", at=at)
    db.ingest("im", Batch(status_changes=[change]))
    r = db.ingest("im", Batch(status_changes=[change]))
    assert r.status_changes == 0


def test_audit_log_is_append_only(db):
    with db.session() as s:
        audit.append(s, actor="curator", action="route", entity="case", entity_id=1)
    with pytest.raises(sa.exc.DatabaseError):
        with db.session() as s:
            s.execute(sa.text("UPDATE audit_log SET actor = 'someone else'"))
    with pytest.raises(sa.exc.DatabaseError):
        with db.session() as s:
            s.execute(sa.text("DELETE FROM audit_log"))
