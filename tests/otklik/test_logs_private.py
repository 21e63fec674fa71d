"""No personal data in logs on error paths: a database call that fails on a row holding a citizen's
name and text logs neither — not in the message, its %-arguments, `extra`, nor the traceback —
on SQLite and PostgreSQL alike (the latter quotes the whole failing row in its DETAIL line)."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError

from otklik import logs
from storage.tables import MessageRow

NAME = "Евлампия Секретарёва"
TEXT = "Мой телефон 8-913-555-01-02, живу на Тайной улице"


def failing_insert(db) -> IntegrityError:
    """A NOT NULL violation: PostgreSQL's DETAIL is "Failing row contains (…, name, text, …)"."""
    with pytest.raises(IntegrityError) as caught:
        with db.session() as s:
            s.add(MessageRow(source="tg", platform="telegram", external_id="1:1", author_id="9", author_name=NAME,
                             thread={"kind": "chat", "ids": {}}, text=TEXT, created_at=None,
                             stored_at=datetime.now(UTC), attachments=[], raw={"text": TEXT}, processed=False))
    return caught.value


@pytest.fixture
def captured():
    stream = io.StringIO()
    logs.setup("INFO", stream=stream)
    yield stream
    logging.getLogger().handlers[:] = []


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def assert_private(text: str) -> None:
    for secret in (NAME, TEXT, "Секретарёва", "8-913-555-01-02", "Тайной"):
        assert secret not in text


def test_the_engine_hides_parameters(db):
    exc = failing_insert(db)
    assert "parameters hidden" in str(exc)  # hide_parameters=True on our engines
    if db.engine.dialect.name == "sqlite":
        assert_private(str(exc))  # SQLite's own message names columns, not values


def test_a_failing_db_call_logs_neither_name_nor_text(db, captured):
    exc = failing_insert(db)
    log = logging.getLogger("otklik.test")
    try:
        raise RuntimeError("storing the batch failed") from exc
    except RuntimeError as wrapped:
        log.exception("ingest failed", extra={"source": "tg", "error": exc})
        log.error("ingest failed: %s (%r)", exc, wrapped.__cause__)
        log.warning("ingest failed: %(e)s", {"e": exc})
    out = captured.getvalue()
    assert_private(out)
    records = lines(captured)
    assert len(records) == 3
    assert "IntegrityError" in records[0]["exc"] and "storing the batch failed" in records[0]["exc"]
    assert "test_logs_private.py" in records[0]["exc"]  # the frames stay: where it failed is kept
    assert "messages" in records[0]["exc"]  # and which table / constraint
    assert "IntegrityError" in records[1]["msg"] and records[0]["error"].startswith("IntegrityError")


def test_validation_errors_keep_where_not_what(captured):
    class Body(BaseModel):
        days: int

    with pytest.raises(ValidationError) as caught:
        Body.model_validate({"days": TEXT})
    logging.getLogger("otklik.test").error("bad body", exc_info=caught.value)
    record = lines(captured)[0]
    assert_private(json.dumps(record, ensure_ascii=False))
    assert "days: int_parsing" in record["exc"]


def test_sqlalchemy_statement_logging_stays_off_at_info(db, captured):
    with db.session() as s:
        s.add(MessageRow(source="tg", platform="telegram", external_id="2:2", author_id="9", author_name=NAME,
                         thread={"kind": "chat", "ids": {}}, text=TEXT, created_at=datetime.now(UTC),
                         stored_at=datetime.now(UTC), attachments=[], raw={}, processed=False))
    assert_private(captured.getvalue())


def test_safe_message_of_driver_errors():
    class FakeDriverError(Exception):
        pass

    FakeDriverError.__module__ = "psycopg.errors"
    exc = FakeDriverError(f'invalid input syntax for type integer: "{TEXT}"\nDETAIL: Failing row contains ({NAME})')
    got = logs.safe_message(exc)
    assert got == 'invalid input syntax for type integer: "***"'
    exc = FakeDriverError(f'null value in column "created_at" of relation "messages" violates not-null constraint\n'
                          f"DETAIL:  Failing row contains (1, tg, {NAME}, {TEXT}).")
    assert logs.safe_message(exc) == ('null value in column "created_at" of relation "messages" violates '
                                      "not-null constraint")
