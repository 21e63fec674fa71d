"""The storage side of reports: the facts of the cases received in a period, as the actor may see
them (otklik.services.access decides the scope, as for every other read), in a handful of queries
(no query per case: a quarter of 100,000 cases is read in well under a second on an idle machine).

Where the time went (bench/reports.py, PostgreSQL, EXPLAIN ANALYZE): `cases` is a wide table (the
JSON record, ~0.9 kB a row), and every query used to narrow itself by `id IN (SELECT id FROM cases
WHERE created_at ...)`, i.e. scanned it again and hashed 100,000 ids, nine scans in all. Now one query
reads the period's cases with the filter on the indexed columns themselves (place names as plain text,
`cases.place_names`, ratings unpacked in the same pass), and the other tables are narrowed by case id ranges (`id_ranges`) read
through their `case_id` indexes."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import (
    JSON,
    TIMESTAMP,
    ColumnElement,
    Select,
    Text,
    cast,
    false,
    func,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.orm import Session

from otklik.actor import Actor
from otklik.services import access
from reports.facts import CaseFacts, DroppedFacts, Facts
from storage.case_moments import PLACE_SEP
from storage.tables import CaseAssignmentRow, CaseRow, DraftRow, MessageRow, OutboxRow, VerdictRow

MAX_RANGES = 32  # id ranges per query: a handful of index range scans, never a 100,000-item IN list


def load(session: Session, actor: Actor, start: datetime, end: datetime, *, department: str | None = None,
         source: str | None = None) -> Facts:
    """Facts of the cases received in [start, end) that `actor` may read, narrowed to one
    department (every case it had) and/or one source; and of the period just before, for the change."""
    sc = access.require(session, actor, "read", entity="report")
    with _collector_paused():
        cases = _cases(session, lambda stmt: _in_period(stmt, start, end, sc, department, source))
        ranges = id_ranges(cases)
        _add_departments(session, ranges, cases)
        _add_drafts(session, ranges, cases)
        _add_photos(session, ranges, cases)
        previous = _counts(session, lambda stmt: _in_period(stmt, start - (end - start), start, sc, department,
                                                            source))
    dropped = None
    if department is None and sc.roles & access.allowed_roles("read_dropped"):
        dropped = _dropped(session, start, end, source)
    return Facts(cases=list(cases.values()), dropped=dropped, previous=previous)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while the facts are made: a quarter makes ~600,000
    objects (rows, cases, their lists), which set off dozens of collections, each walking every
    object alive: 1 s of CPU out of 1.6 s (bench/reports.py). Nothing made here is cyclic garbage."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _in_period(stmt: Select, start: datetime, end: datetime, sc: access.Scope, department: str | None,
               source: str | None) -> Select:
    """Narrow a query over CaseRow joined with MessageRow to the period, the department, the source
    and the actor's scope, by conditions on the cases' own (indexed) columns."""
    stmt = stmt.where(CaseRow.created_at >= start, CaseRow.created_at < end)
    if source:
        stmt = stmt.where(MessageRow.source == source)
    if department:
        had = select(CaseAssignmentRow.case_id).where(CaseAssignmentRow.department == department)
        stmt = stmt.where(CaseRow.id.in_(had))
    return access.visible_cases(stmt, sc)


def id_ranges(ids: Iterable[int], most: int = MAX_RANGES) -> list[tuple[int, int]]:
    """At most `most` inclusive ranges covering every id, split at the widest gaps. Cases are numbered
    as they are created, so a period's ids lie close together and the ranges hold few others; rows
    of other cases that fall inside are dropped by the caller (membership in the period's cases)."""
    ordered = sorted(set(ids))
    if not ordered:
        return []
    gaps = sorted(range(1, len(ordered)), key=lambda i: ordered[i] - ordered[i - 1], reverse=True)
    cuts = sorted(i for i in gaps[:most - 1] if ordered[i] - ordered[i - 1] > 1)
    bounds = [0, *cuts, len(ordered)]
    return [(ordered[a], ordered[b - 1]) for a, b in zip(bounds, bounds[1:], strict=False)]


def _among(column, ranges: list[tuple[int, int]]) -> ColumnElement[bool]:
    if not ranges:
        return false()
    return or_(*(column.between(lo, hi) if lo < hi else column == lo for lo, hi in ranges))


def _epoch(expr, dialect: str):
    """POSIX seconds of an ISO 8601 string or a timestamp column, computed by the database."""
    if dialect == "postgresql":
        # date_part gives double precision; extract() gives numeric since PostgreSQL 14, which the
        # driver turns into Decimal objects, several times slower to make and to convert per value.
        return func.date_part("epoch", cast(expr, TIMESTAMP(timezone=True)))
    return (func.julianday(expr) - 2440587.5) * 86400.0  # SQLite reads the "+07:00" offset itself


def _elements(column, dialect: str):
    """A table of the elements of a JSON list column, one row per element, unpacked by the database
    (parsing them in Python took seconds). SQLite also gives each element's JSON type."""
    if dialect == "postgresql":
        return func.json_array_elements(column).table_valued("value").render_derived(name="e")
    return func.json_each(column).table_valued("value", "type").alias("e")  # SQLite names the columns itself


def _json_list(text: str | None) -> list:
    """A JSON list given as text by the database ('[]', NULL and anything else: empty)."""
    if not text or text == "[]":
        return []
    value = json.loads(text)
    return value if isinstance(value, list) else []


def _cases(session: Session, narrow) -> dict[int, CaseFacts]:
    # The lifecycle moments are plain columns (storage.case_moments), so no record is parsed per case;
    # the database turns each into POSIX seconds.
    dialect = session.get_bind().dialect.name

    def epoch(column):
        return _epoch(column, dialect)

    stmt = narrow(select(CaseRow.id, MessageRow.source, CaseRow.topic_group, CaseRow.topic, CaseRow.state,
                         CaseRow.channel, epoch(func.coalesce(CaseRow.identified_at, CaseRow.created_at)),
                         epoch(CaseRow.due_at), epoch(CaseRow.routed_at), epoch(CaseRow.submitted_at),
                         epoch(CaseRow.approved_at), epoch(CaseRow.published_at), epoch(CaseRow.intermediate_at),
                         CaseRow.outcome, CaseRow.reopened, CaseRow.repeat_of, MessageRow.engagement,
                         CaseRow.place_names, func.nullif(cast(CaseRow.ratings, Text), "[]"))
                  .join(MessageRow, MessageRow.id == CaseRow.message_id))  # no ORDER BY: build() sorts by id
    out: dict[int, CaseFacts] = {}
    # Core rows, every column a plain value (no type conversion by SQLAlchemy): this loop meets every case.
    for (cid, src, group, topic, state, channel, identified, answer_by, routed, submitted, approved, published,
         intermediate, outcome, reopened, repeat_of, engagement, places, ratings) in session.connection().execute(stmt).all():
        out[cid] = CaseFacts(
            id=cid, source=src, topic_group=group, topic=topic, state=state, channel=channel,
            identified_at=float(identified), answer_by=answer_by, routed_at=routed,  # floats or None
            submitted_at=submitted, approved_at=approved, published_at=published,
            intermediate_at=intermediate, outcome=outcome or None,
            reopened=reopened or 0, repeat_of=repeat_of, engagement=engagement or 0,
            # ratings: the whole numbers (not "5", not true, not 4.5)
            places=places.split(PLACE_SEP) if places else [],
            ratings=[r for r in _json_list(ratings) if type(r) is int])
    return out


def _add_departments(session: Session, ranges: list[tuple[int, int]], cases: dict[int, CaseFacts]) -> None:
    stmt = (select(CaseAssignmentRow.case_id, CaseAssignmentRow.department)
            .where(_among(CaseAssignmentRow.case_id, ranges)).order_by(CaseAssignmentRow.id))
    for cid, dept in session.connection().execute(stmt).all():
        facts = cases.get(cid)
        if facts is not None and dept not in facts.departments:
            facts.departments.append(dept)


def _add_drafts(session: Session, ranges: list[tuple[int, int]], cases: dict[int, CaseFacts]) -> None:
    """Drafts sent back, per case, and the codes of the quality flags on every draft: both counted
    or unpacked by the database (most drafts carry no flag: their JSON is never sent)."""
    returned = (select(DraftRow.case_id, func.count()).where(_among(DraftRow.case_id, ranges),
                                                             DraftRow.status == "returned")
                .group_by(DraftRow.case_id))
    for cid, n in session.connection().execute(returned).all():
        if cid in cases:
            cases[cid].drafts_returned = n
    dialect = session.get_bind().dialect.name
    flags = _elements(DraftRow.quality, dialect)
    if dialect == "postgresql":
        code = func.coalesce(type_coerce(flags.c.value, JSON)["code"].as_string(), "?")
        is_object = func.json_typeof(flags.c.value) == "object"
    else:
        code = func.coalesce(func.json_extract(flags.c.value, "$.code"), "?")
        is_object = flags.c.type == "object"
    stmt = (select(DraftRow.case_id, code).select_from(DraftRow).join(flags, true())
            .where(_among(DraftRow.case_id, ranges), cast(DraftRow.quality, Text) != "[]", is_object))
    for cid, flag in session.connection().execute(stmt).all():
        if cid in cases:
            cases[cid].quality_flags.append(flag)


def _add_photos(session: Session, ranges: list[tuple[int, int]], cases: dict[int, CaseFacts]) -> None:
    # Only whether a posted answer had attachments: the reply's text is no business of a report, and
    # the empty lists are filtered out by the database (most answers carry no photos).
    attachments = func.coalesce(OutboxRow.reply[("attachments",)].as_string(), "")
    stmt = (select(OutboxRow.case_id)
            .where(_among(OutboxRow.case_id, ranges), OutboxRow.status == "posted",
                   attachments.not_in(["", "[]", "null"])))
    for (cid,) in session.connection().execute(stmt).all():
        if cid in cases:
            cases[cid].photos = True


def _counts(session: Session, narrow) -> list[CaseFacts]:
    """The previous period: only what the change in counts needs."""
    stmt = narrow(select(CaseRow.id, MessageRow.source, CaseRow.topic_group)
                  .join(MessageRow, MessageRow.id == CaseRow.message_id))
    return [CaseFacts(id=cid, source=src, topic_group=group, topic=None, state="", channel="", identified_at=0.0)
            for cid, src, group in session.connection().execute(stmt).all()]


def _dropped(session: Session, start: datetime, end: datetime, source: str | None) -> list[DroppedFacts]:
    stmt = (select(VerdictRow.message_id, MessageRow.source, VerdictRow.decided_at, VerdictRow.reasons,
                   VerdictRow.overruled_by, VerdictRow.decision)
            .join(MessageRow, MessageRow.id == VerdictRow.message_id)
            .where(MessageRow.created_at >= start, MessageRow.created_at < end)
            .where((VerdictRow.decision == "drop") | VerdictRow.overruled_by.is_not(None)))
    if source:
        stmt = stmt.where(MessageRow.source == source)
    return [DroppedFacts(message_id=mid, source=src, at=at, reasons=list(reasons or []), overruled=bool(by))
            for mid, src, at, reasons, by, _ in session.connection().execute(stmt)]
