"""One bad item never blocks the others at ingest: poison is stored sanitised, what no store takes is
quarantined with its payload and an error class (never its text), the rest and the cursor go on.
Run on SQLite and, with DATABASE_URL, on PostgreSQL (where NUL in text or JSON used to fail)."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otklik.actor import Actor
from otklik.exceptions import InvalidTransition, PermissionDenied
from otklik.models import Author, Batch, EventKind, Message, Platform, Rejected, StatusChange, Thread
from storage import quarantine
from storage import sources as source_state
from storage.tables import MessageRow, PlatformEventRow, QuarantineRow, SourceStateRow, now

ADMIN = Actor(login="op", role="admin", via="cli")
SECRET_TEXT = "Пожалуйста, позвоните мне: это тайный текст"


def msg(ext: str, text: str = "Когда починят фонарь на улице Мира?", *, author: Author | None = None,
        raw: dict | None = None, event=EventKind.NEW) -> Message:
    return Message(source="tg", platform=Platform.TELEGRAM, external_id=ext,
                   thread=Thread(kind="chat", ids={"chat_id": 1, "message_id": 7}),
                   author=author or Author(id="42", name="Житель"), text=text,
                   created_at=datetime(2026, 1, 12, 9, 0, tzinfo=UTC), raw=raw or {}, event=event)


def rows(db, model):
    with db.session() as s:
        return list(s.execute(sa.select(model).order_by(model.id)).scalars())


def test_poison_is_stored_sanitised(db):
    poison = [
        msg("1", "фонарь\x00не горит"),
        msg("2", "ул. Мира \ud800 дом 5", author=Author(id="7", name="Иван\udfff\x00", url="https://t.me/\x00x")),
        msg("3", "\x01\x02\x03\x1b[31m"),
        msg("4", "нормально", raw={"text\x00": "a\x00b", "nested": [{"k": "\ud83d"}, float("nan"), 1e400]}),
        msg("5", "смайл \ud83d\ude00 склеен"),
    ]
    result = db.ingest("tg", Batch(messages=poison, next_cursor="c1"))
    assert (result.new, result.quarantined) == (5, 0)
    stored = {r.external_id: r for r in rows(db, MessageRow)}
    assert stored["1"].text == "фонарь\ufffdне горит"
    assert stored["2"].text == "ул. Мира \ufffd дом 5"
    assert stored["2"].author_name == "Иван\ufffd\ufffd" and stored["2"].author_url == "https://t.me/\ufffdx"
    assert stored["3"].text == "[31m"  # control characters dropped, the printable rest kept
    assert stored["4"].raw == {"text\ufffd": "a\ufffdb", "nested": [{"k": "\ufffd"}, "nan", "inf"]}
    assert stored["5"].text == "смайл 😀 склеен"
    assert db.get_cursor("tg") == "c1"


def test_edit_with_poison_is_stored_sanitised(db):
    db.ingest("tg", Batch(messages=[msg("1")]))
    r = db.ingest("tg", Batch(messages=[msg("1", "исправлено\x00", event=EventKind.EDIT)]))
    assert r.updated == 1
    assert rows(db, MessageRow)[0].text == "исправлено\ufffd"


def test_one_bad_item_among_good_ones_is_quarantined(db):
    broken = msg("3", SECRET_TEXT, author=Author(id="99", name="Тайный Автор"))
    broken.created_at = None  # type: ignore[assignment]  # NOT NULL refuses it on both databases
    too_long_id = msg("x" * 250)
    rejected = Rejected(raw={"message": {"text": ["не строка"], "from": "Тайный Автор"}},
                        reason="text is not a string", external_id="77")
    batch = Batch(messages=[msg("1"), broken, too_long_id, msg("2")], rejected=[rejected], next_cursor="c9")
    result = db.ingest("tg", batch, platform="telegram")
    assert (result.new, result.quarantined) == (2, 3)
    assert db.get_cursor("tg") == "c9"
    assert sorted(r.external_id for r in rows(db, MessageRow)) == ["1", "2"]
    items = rows(db, QuarantineRow)
    assert [(q.stage, q.platform, q.attempts) for q in items] == [("ingest", "telegram", 1)] * 3
    by_ext = {q.external_id: q for q in items}
    assert by_ext["3"].reason.startswith("IntegrityError")
    assert by_ext["3"].raw["message"]["text"] == SECRET_TEXT  # the payload is kept for a person
    assert by_ext["x" * 200].reason == "Unstorable: external_id is longer than 200 characters"
    assert by_ext["77"].reason == "rejected by the parser: text is not a string"
    assert by_ext["77"].raw == {"rejected": rejected.raw}
    for q in items:  # reasons may reach /healthz and logs: no text, no author
        assert "тайный" not in q.reason.lower() and "Тайный" not in q.reason
    # The same batch again (the poller re-polls after a crash): duplicates, the bad ones set aside again.
    again = db.ingest("tg", batch, platform="telegram")
    assert (again.new, again.duplicates, again.quarantined) == (0, 2, 3)
    assert len(rows(db, QuarantineRow)) == 3  # one open entry per item, not one per delivery


def test_status_changes_one_refused_others_stored(db):
    at = datetime(2026, 1, 12, 10, 0, tzinfo=UTC)
    good = StatusChange(external_id="inc-1", status="approved", at=at, comment="ок\x00")
    bad = StatusChange(external_id="inc-2", status="s" * 41, at=at)
    result = db.ingest("im", Batch(status_changes=[bad, good], next_cursor="5"), platform="kamchatka")
    assert (result.status_changes, result.quarantined) == (1, 1)
    assert [e.comment for e in rows(db, PlatformEventRow)] == ["ок\ufffd"]
    item = rows(db, QuarantineRow)[0]
    assert (item.source, item.platform, item.external_id) == ("im", "kamchatka", "inc-2")
    assert "status_change" in item.raw and db.get_cursor("im") == "5"


def test_retry_stores_a_normalized_message_again(db):
    with db.session() as s:
        item = quarantine.add(s, source="tg", stage="ingest", platform="telegram", external_id="5",
                              reason="OperationalError", raw={"message": msg("5").model_dump(mode="json")})
        item_id = item.id
    with db.session() as s:
        assert quarantine.retry(s, ADMIN, item_id) == "stored"
    assert [r.external_id for r in rows(db, MessageRow)] == ["5"]
    with db.session() as s:
        row = s.get(QuarantineRow, item_id)
        assert row.resolved_by == "op" and row.resolved_at is not None
        with pytest.raises(InvalidTransition):
            quarantine.retry(s, ADMIN, item_id)


def test_retry_that_fails_again_keeps_the_item_open(db):
    bad = msg("x" * 250)
    db.ingest("tg", Batch(messages=[bad]))
    item_id = rows(db, QuarantineRow)[0].id
    with db.session() as s:
        outcome = quarantine.retry(s, ADMIN, item_id)
    assert outcome.startswith("stored again failed")
    item = rows(db, QuarantineRow)[0]
    assert item.resolved_at is None and item.attempts == 2
    assert rows(db, MessageRow) == []


def test_raw_rejected_item_cannot_be_retried_and_executors_cannot_see(db):
    db.ingest("tg", Batch(rejected=[Rejected(raw={"x": 1}, reason="bad")]), platform="telegram")
    item_id = rows(db, QuarantineRow)[0].id
    with db.session() as s, pytest.raises(InvalidTransition):
        quarantine.retry(s, ADMIN, item_id)
    with db.session() as s, pytest.raises(PermissionDenied):
        quarantine.listing(s, Actor(login="e", role="executor"))


def test_health_degraded_and_stalled(db):
    source_state.record_success(db, "tg")
    source_state.record_success(db, "vk")
    assert source_state.all_states(db)["tg"]["status"] == "ok"
    db.ingest("tg", Batch(rejected=[Rejected(raw={}, reason="bad json")]), platform="telegram")
    states = source_state.all_states(db)
    assert states["tg"]["status"] == "degraded" and states["tg"]["quarantined"] == 1
    assert states["tg"]["last_reason"] == "rejected by the parser: bad json"
    assert states["vk"]["status"] == "ok"
    for _ in range(3):
        source_state.record_failure(db, "vk", "failing", "IntegrityError")
    assert source_state.all_states(db)["vk"]["status"] == "failing"  # not yet for long
    with db.session() as s:
        s.get(SourceStateRow, "vk").failing_since = now() - timedelta(minutes=5)
    states = source_state.all_states(db)
    assert states["vk"]["status"] == "stalled" and states["vk"]["consecutive_failures"] == 3
    source_state.record_success(db, "vk")
    assert source_state.all_states(db)["vk"]["status"] == "ok"
    # An hour later the quarantine no longer degrades the source.
    with db.session() as s:
        s.execute(sa.update(QuarantineRow).values(created_at=now() - timedelta(hours=2)))
    assert source_state.all_states(db)["tg"]["status"] == "ok"


def test_database_fault_fails_the_batch_and_keeps_the_cursor(db):
    """The database failing is not the item's fault: nothing is quarantined, the batch is retried
    whole, and the error raised carries no text (SQLAlchemy's message quotes the parameters)."""
    from otklik.exceptions import StorageUnavailable

    db.ingest("tg", Batch(messages=[msg("1")], next_cursor="2"))
    with db.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE messages RENAME TO messages_away"))
    try:
        with pytest.raises(StorageUnavailable) as err:
            db.ingest("tg", Batch(messages=[msg("5", SECRET_TEXT)], next_cursor="9"))
        assert SECRET_TEXT not in str(err.value) and err.value.__suppress_context__
    finally:
        with db.engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE messages_away RENAME TO messages"))
    assert db.get_cursor("tg") == "2"
    assert rows(db, QuarantineRow) == []


_counter = iter(range(10**6))


# Any code point, with the ones that break stores drawn often (among 1.1 million they would be rare).
_chars = st.sampled_from("\x00\ud800\udbff\udc00\udfff\x1b\x7f") | st.characters(
    min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=_chars, max_size=60), key=st.text(alphabet=_chars, max_size=10))
def test_any_text_is_stored_not_quarantined(db, text, key):
    """Any str in every text field and in raw's keys and values: stored, on this database."""
    ext = f"h{next(_counter)}"
    m = msg(ext, text, author=Author(id="1", name=text, url=text), raw={key: text, "list": [text]})
    m = m.model_copy(update={"platform_topic": text, "thread": Thread(kind=text, ids={"x": text})})
    result = db.ingest("tg", Batch(messages=[m]))
    assert (result.new, result.quarantined) == (1, 0)
