"""Migration 0004_finish on a database with cases: their lifecycle moments, term, outcome, reworks,
repeat link and ratings are copied from the JSON record into the new columns (the backfill), a case
with a bare record gets empty ones; down and up again. SQLite and PostgreSQL."""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from storage.db import make_engine
from storage.migrate import alembic_config, current, upgrade
from storage.tables import UTCDateTime

When = UTCDateTime(timezone=True)
T0 = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)

MESSAGES = sa.table("messages", *[sa.column(c) for c in ("id", "source", "platform", "external_id", "author_id",
                                                          "text", "fast_track", "engagement", "processed",
                                                          "revision")],
                    sa.column("thread", sa.JSON), sa.column("attachments", sa.JSON), sa.column("raw", sa.JSON),
                    sa.column("created_at", When), sa.column("stored_at", When))
CASES = sa.table("cases", *[sa.column(c) for c in ("id", "message_id", "profile", "channel", "state", "importance",
                                                    "needs_manual", "version")],
                 sa.column("executors", sa.JSON), sa.column("location", sa.JSON), sa.column("record", sa.JSON),
                 sa.column("created_at", When), sa.column("updated_at", When))

FULL = {  # as regulation.case.CaseRecord.model_dump(mode="json") writes it
    "state": "published", "channel": "social",
    "deadlines": {"identified_at": "2026-11-02T10:00:00+07:00", "answer_by": "2026-11-05T18:00:00+07:00"},
    "milestones": {"routed_at": "2026-11-02T11:00:00+07:00", "submitted_at": "2026-11-03T10:00:00+07:00",
                   "approved_at": "2026-11-03T12:00:00+07:00", "published_at": "2026-11-03T12:30:00+07:00",
                   "intermediate_at": None},
    "shortened_to": "2026-11-04T18:00:00+07:00", "intermediate_at": "2026-11-02T15:00:00+07:00",
    "outcome": "solved", "reopened": 1, "repeat_of": 7,
    "feedback_history": [{"kind": "rated", "rating": 4}, {"kind": "comment"}, {"kind": "rated", "rating": 5}],
}


def _seed(conn) -> None:
    for n, record in ((1, FULL), (2, {})):
        conn.execute(sa.insert(MESSAGES).values(
            id=n, source="vk", platform="vk", external_id=f"m{n}", author_id="0", text="…", fast_track=False,
            engagement=0, processed=True, revision=1, thread={"kind": "wall"}, attachments=[], raw={}, created_at=T0,
            stored_at=T0))
        conn.execute(sa.insert(CASES).values(
            id=n, message_id=n, profile="severny", channel="social", state="published", importance="normal",
            needs_manual=False, version=1, executors=[], location=[], record=record, created_at=T0, updated_at=T0))


def _columns(conn, case_id: int) -> dict:
    cols = ("identified_at", "due_at", "routed_at", "submitted_at", "approved_at", "published_at",
            "intermediate_at", "outcome", "reopened", "repeat_of", "ratings")
    table = sa.table("cases", sa.column("id"), *[sa.column(c, When) for c in cols[:7]],
                     *[sa.column(c) for c in cols[7:10]], sa.column("ratings", sa.JSON))
    return dict(conn.execute(sa.select(*[table.c[c] for c in cols]).where(table.c.id == case_id)).one()._mapping)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour - 7, minute, tzinfo=UTC)  # +07:00 in the record


def test_backfill_copies_the_record_then_down_and_up(database_url):
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0003_reports")
        with engine.begin() as conn:
            _seed(conn)
        upgrade(engine)
        assert current(engine) != "0003_reports"
        with engine.begin() as conn:
            full, bare = _columns(conn, 1), _columns(conn, 2)
        assert full == {
            "identified_at": local(2, 10), "due_at": local(4, 18),  # the shortened term wins
            "routed_at": local(2, 11), "submitted_at": local(3, 10), "approved_at": local(3, 12),
            "published_at": local(3, 12, 30),
            "intermediate_at": local(2, 15),  # milestones' is empty: the record's own
            "outcome": "solved", "reopened": 1, "repeat_of": 7, "ratings": [4, 5]}
        assert bare == {**{k: None for k in full}, "reopened": 0, "ratings": []}
        command.downgrade(alembic_config(engine), "0003_reports")
        assert current(engine) == "0003_reports"
        upgrade(engine)
        with engine.begin() as conn:
            assert _columns(conn, 1) == full
    finally:
        engine.dispose()
