"""The report columns of `cases` follow the JSON record wherever it changes: a case made from a
record, and a case moved by the service layer (otklik.services.cases, route → draft → approve),
read back from the database; odd records give empty columns, never an error."""

from datetime import UTC, datetime

from otklik.actor import Actor
from otklik.services import cases
from regulation.lifecycle import new_case
from regulation.profiles import load_profile
from reports.sample import ensure_departments
from storage.case_moments import moments
from storage.tables import CaseRow, MessageRow

CUR = Actor(login="cur", role="curator", via="cli")
AT = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)


def _case(s) -> int:
    msg = MessageRow(source="vk", platform="vk", external_id="m1", thread={"kind": "wall"}, author_id="7",
                     text="Не горит фонарь", created_at=AT, attachments=[], raw={}, processed=True)
    s.add(msg)
    s.flush()
    record = new_case(profile=load_profile("severny"), channel="social", identified_at=AT)
    row = CaseRow(message_id=msg.id, profile="severny", channel="social", state=record.state.value, executors=[],
                  location=[], record=record.model_dump(mode="json"))
    s.add(row)
    s.flush()
    return row.id


def test_columns_follow_the_record_through_the_lifecycle(db):
    with db.session() as s:
        ensure_departments(s, ["blagoustroystvo"])
        case_id = _case(s)
    with db.session() as s:
        row = s.get(CaseRow, case_id)
        assert row.identified_at == AT
        assert row.due_at is not None and row.due_at == datetime.fromisoformat(row.record["deadlines"]["answer_by"])
        assert (row.routed_at, row.published_at, row.outcome, row.reopened, row.ratings) == (None, None, None, 0, [])
    with db.session() as s:
        cases.route(s, CUR, case_id, executors=["blagoustroystvo"])
    with db.session() as s:
        row = s.get(CaseRow, case_id)
        routed = datetime.fromisoformat(row.record["milestones"]["routed_at"])
        assert row.routed_at == routed and row.submitted_at is None
        assert row.state == "routed"


def test_odd_records_give_empty_columns():
    empty = {"identified_at": None, "due_at": None, "routed_at": None, "submitted_at": None, "approved_at": None,
             "published_at": None, "intermediate_at": None, "outcome": None, "reopened": 0, "repeat_of": None,
             "ratings": []}
    assert moments(None) == moments({}) == empty
    odd = {"deadlines": "x", "milestones": {"routed_at": "not a date", "published_at": 5}, "outcome": "",
           "reopened": "2", "repeat_of": True, "feedback_history": [{"rating": "5"}, {"rating": True}, 3]}
    assert moments(odd) == empty
    naive = moments({"deadlines": {"identified_at": "2026-11-02T04:00:00"}})
    assert naive["identified_at"] == AT  # a zone-less moment is UTC, as the database keeps it
