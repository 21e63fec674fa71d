"""The storage side of reports: the facts of the cases received in a period, as the actor may see
them (otklik.services.access decides the scope, as for every other read), in a handful of queries
(no query per case: a quarter of 100,000 cases is read in seconds)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, TIMESTAMP, Select, Text, cast, func, select, true, type_coerce
from sqlalchemy.orm import Session

from otklik.actor import Actor
from otklik.services import access
from reports.facts import CaseFacts, DroppedFacts, Facts
from storage.tables import CaseAssignmentRow, CaseRow, DraftRow, MessageRow, OutboxRow, VerdictRow


def _rows(session: Session, stmt) -> list[tuple]:
    """All rows as plain tuples in one client-side fetch. A server-side cursor (yield_per) cost a
    round trip per chunk and a Python call per row (3-6 s of a quarter's 100,000 cases); the rows of
    a quarter are a few tens of MB, read once."""
    result = session.connection().execute(stmt)
    if any(getattr(result._metadata, "_processors", None) or [True]):
        return list(result.all())
    # No column needs SQLAlchemy's conversion (PostgreSQL: the driver made floats, ints, strings and
    # parsed JSON already), so the driver's tuples are taken as they are: Row objects cost ~1 s here.
    rows = result.cursor.fetchall()
    result.close()
    return rows


def load(session: Session, actor: Actor, start: datetime, end: datetime, *, department: str | None = None,
         source: str | None = None) -> Facts:
    """Facts of the cases received in [start, end) that `actor` may read, narrowed to one
    department (every case it had) and/or one source; and of the period just before, for the change."""
    sc = access.require(session, actor, "read", entity="report")
    ids = _case_ids(start, end, sc, department, source)
    cases = _cases(session, ids)
    _add_departments(session, ids, cases)
    _add_drafts(session, ids, cases)
    _add_photos(session, ids, cases)
    previous = _counts(session, _case_ids(start - (end - start), start, sc, department, source))
    dropped = None
    if department is None and sc.roles & access.allowed_roles("read_dropped"):
        dropped = _dropped(session, start, end, source)
    return Facts(cases=list(cases.values()), dropped=dropped, previous=previous)


def _case_ids(start: datetime, end: datetime, sc: access.Scope, department: str | None,
              source: str | None) -> Select:
    stmt = select(CaseRow.id).where(CaseRow.created_at >= start, CaseRow.created_at < end)
    if source:
        stmt = stmt.join(MessageRow, MessageRow.id == CaseRow.message_id).where(MessageRow.source == source)
    if department:
        had = select(CaseAssignmentRow.case_id).where(CaseAssignmentRow.department == department)
        stmt = stmt.where(CaseRow.id.in_(had))
    return access.visible_cases(stmt, sc)


def _epoch(expr, dialect: str):
    """POSIX seconds of an ISO 8601 string or a timestamp column, computed by the database."""
    if dialect == "postgresql":
        # date_part gives double precision; extract() gives numeric since PostgreSQL 14, which the
        # driver turns into Decimal objects, several times slower to make and to convert per value.
        return func.date_part("epoch", cast(expr, TIMESTAMP(timezone=True)))
    return (func.julianday(expr) - 2440587.5) * 86400.0  # SQLite reads the "+07:00" offset itself


def _cases(session: Session, ids: Select) -> dict[int, CaseFacts]:
    # The lifecycle moments are plain columns (storage.case_moments), so no JSON is parsed per case;
    # the database turns each into POSIX seconds.
    dialect = session.get_bind().dialect.name

    def epoch(column):
        return _epoch(column, dialect)

    stmt = (select(CaseRow.id, MessageRow.source, CaseRow.topic_group, CaseRow.topic, CaseRow.state, CaseRow.channel,
                   epoch(func.coalesce(CaseRow.identified_at, CaseRow.created_at)), epoch(CaseRow.due_at),
                   epoch(CaseRow.routed_at), epoch(CaseRow.submitted_at), epoch(CaseRow.approved_at),
                   epoch(CaseRow.published_at), epoch(CaseRow.intermediate_at), CaseRow.outcome, CaseRow.reopened,
                   CaseRow.repeat_of, MessageRow.engagement)
            .join(MessageRow, MessageRow.id == CaseRow.message_id).where(CaseRow.id.in_(ids)))  # no ORDER BY: build() sorts by id
    out: dict[int, CaseFacts] = {}
    # Core, not ORM rows, and no JSON: this loop meets every case.
    for (cid, src, group, topic, state, channel, identified, answer_by, routed, submitted, approved, published,
         intermediate, outcome, reopened, repeat_of, engagement) in _rows(session, stmt):
        out[cid] = CaseFacts(
            id=cid, source=src, topic_group=group, topic=topic, state=state, channel=channel,
            identified_at=float(identified), answer_by=answer_by, routed_at=routed,  # floats or None
            submitted_at=submitted, approved_at=approved, published_at=published,
            intermediate_at=intermediate, outcome=outcome or None,
            reopened=reopened or 0, repeat_of=repeat_of, engagement=engagement or 0)
    _add_elements(session, ids, cases=out)
    return out


def _elements(column, dialect: str):
    """A table of the elements of a JSON list column, one row per element, unpacked by the database
    (parsing 100,000 small JSON documents in Python took seconds)."""
    if dialect == "postgresql":
        return func.json_array_elements(column).table_valued("value").render_derived(name="e")
    return func.json_each(column).table_valued("value").alias("e")  # SQLite names the column itself


def _add_elements(session: Session, ids: Select, cases: dict[int, CaseFacts]) -> None:
    """Each case's place names (location[].name) and citizens' ratings (ratings[])."""
    dialect = session.get_bind().dialect.name
    places = _elements(CaseRow.location, dialect)
    name = type_coerce(places.c.value, JSON)["name"].as_string()
    stmt = (select(CaseRow.id, name).select_from(CaseRow).join(places, true())
            .where(CaseRow.id.in_(ids)))
    for cid, place in _rows(session, stmt):
        if isinstance(place, str) and cid in cases:
            cases[cid].places.append(place)
    ratings = _elements(CaseRow.ratings, dialect)
    value = cast(ratings.c.value, Text) if dialect == "postgresql" else ratings.c.value
    stmt = (select(CaseRow.id, value).select_from(CaseRow).join(ratings, true())
            .where(CaseRow.id.in_(ids)))
    for cid, rating in _rows(session, stmt):
        if cid in cases and str(rating).lstrip("-").isdigit():
            cases[cid].ratings.append(int(rating))


def _add_departments(session: Session, ids: Select, cases: dict[int, CaseFacts]) -> None:
    stmt = (select(CaseAssignmentRow.case_id, CaseAssignmentRow.department)
            .where(CaseAssignmentRow.case_id.in_(ids)).order_by(CaseAssignmentRow.id))
    for cid, dept in _rows(session, stmt):
        facts = cases.get(cid)
        if facts is not None and dept not in facts.departments:
            facts.departments.append(dept)


def _add_drafts(session: Session, ids: Select, cases: dict[int, CaseFacts]) -> None:
    stmt = select(DraftRow.case_id, DraftRow.status, DraftRow.quality).where(
        DraftRow.case_id.in_(ids), (DraftRow.status == "returned") | (cast(DraftRow.quality, Text) != "[]"))
    for cid, status, quality in _rows(session, stmt):
        facts = cases.get(cid)
        if facts is None:
            continue
        facts.drafts_returned += status == "returned"
        facts.quality_flags.extend(q.get("code", "?") for q in quality or () if isinstance(q, dict))


def _add_photos(session: Session, ids: Select, cases: dict[int, CaseFacts]) -> None:
    # Only the attachments, as JSON text: the reply's text is no business of a report.
    attachments = OutboxRow.reply[("attachments",)].as_string()
    # the empty lists filtered out by the database: most answers carry no photos, 85,000 rows not sent
    stmt = (select(OutboxRow.case_id, attachments)
            .where(OutboxRow.case_id.in_(ids), OutboxRow.status == "posted",
                   func.coalesce(attachments, "").not_in(["", "[]", "null"])))
    for cid, attachments in _rows(session, stmt):
        if cid in cases and attachments not in (None, "", "[]", "null"):
            cases[cid].photos = True


def _counts(session: Session, ids: Select) -> list[CaseFacts]:
    """The previous period: only what the change in counts needs."""
    stmt = (select(CaseRow.id, MessageRow.source, CaseRow.topic_group)
            .join(MessageRow, MessageRow.id == CaseRow.message_id).where(CaseRow.id.in_(ids)))
    return [CaseFacts(id=cid, source=src, topic_group=group, topic=None, state="", channel="", identified_at=0.0)
            for cid, src, group in _rows(session, stmt)]


def _dropped(session: Session, start: datetime, end: datetime, source: str | None) -> list[DroppedFacts]:
    stmt = (select(VerdictRow.message_id, MessageRow.source, VerdictRow.decided_at, VerdictRow.reasons,
                   VerdictRow.overruled_by, VerdictRow.decision)
            .join(MessageRow, MessageRow.id == VerdictRow.message_id)
            .where(MessageRow.created_at >= start, MessageRow.created_at < end)
            .where((VerdictRow.decision == "drop") | VerdictRow.overruled_by.is_not(None)))
    if source:
        stmt = stmt.where(MessageRow.source == source)
    return [DroppedFacts(message_id=mid, source=src, at=at, reasons=list(reasons or []), overruled=bool(by))
            for mid, src, at, reasons, by, _ in session.execute(stmt)]
