"""The inbox's listing over the service layer: nearest deadline first with the undated last, only
the cases still worked on unless asked, pages, the live feed's "what is new" by id, and the scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from otklik.actor import Actor
from otklik.services import inbox
from otklik.services.inbox import Filters
from storage.tables import CaseRow
from tests.console.browser import open_case

CUR = Actor(login="cur", role="curator", via="console")
EXE = Actor(login="exe", role="executor", department="dorogi", via="console")


def _set(db, case_id: int, **values) -> None:
    with db.session() as s:
        s.execute(sa.update(CaseRow).where(CaseRow.id == case_id).values(**values))


def test_order_open_by_default_pages_feed_and_scope(db):
    t = datetime.now(UTC)
    ids = [open_case(db, f"Яма на дороге у дома {i}", external_id=f"i:{i}", executors=["dorogi"]) for i in range(5)]
    roads_later, roads_sooner, undated, answered, zhkh = ids
    _set(db, roads_later, answer_by=t + timedelta(days=3))
    _set(db, roads_sooner, answer_by=t + timedelta(hours=2))
    _set(db, undated, answer_by=None)
    _set(db, answered, answer_by=t - timedelta(days=30), state="published")
    _set(db, zhkh, answer_by=t + timedelta(days=1))
    with db.session() as s:  # zhkh's case is not held by roads
        s.execute(sa.text("UPDATE case_assignments SET department = 'zhkh' WHERE case_id = :c"), {"c": zhkh})
    with db.session() as s:
        # The answered case is left out by default; the undated one comes last.
        assert [r["id"] for r in inbox.listing(s, CUR)] == [roads_sooner, zhkh, roads_later, undated]
        assert [r["id"] for r in inbox.listing(s, CUR, Filters(state="all"))] == [
            answered, roads_sooner, zhkh, roads_later, undated]
        assert [r["id"] for r in inbox.listing(s, CUR, Filters(state="published"))] == [answered]
        # Pages: two at a time, nothing repeated or skipped.
        pages = [[r["id"] for r in inbox.listing(s, CUR, limit=2, offset=o)] for o in (0, 2, 4)]
        assert pages == [[roads_sooner, zhkh], [roads_later, undated], []]
        # The feed: everything opened after an id, in id order, whatever the deadlines.
        assert [r["id"] for r in inbox.listing(s, CUR, after_id=ids[0], limit=2)] == [roads_sooner, undated]
        assert [r["id"] for r in inbox.listing(s, EXE)] == [roads_sooner, roads_later, undated]  # roads only
        assert inbox.newest_id(s, EXE) == answered  # where the feed starts: any state


def test_the_partial_index_has_the_inbox_predicate():
    """PostgreSQL uses ix_cases_inbox only when the query's state list is the index's."""
    from storage import tables

    expected = "state NOT IN (" + ", ".join(f"'{s}'" for s in inbox.DONE_STATES) + ")"
    assert tables._INBOX_WHERE == expected
    index = next(i for i in CaseRow.__table__.indexes if i.name == "ix_cases_inbox")
    assert str(index.dialect_options["postgresql"]["where"]) == expected
