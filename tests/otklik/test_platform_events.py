"""Status changes from a regional platform reach the case: returned for revision, reopened by the
citizen, accepted; each once, and one the case cannot take is audited, not lost."""

from datetime import UTC, datetime

from otklik.actor import Actor
from otklik.models import Author, Batch, Message, StatusChange, Thread
from otklik.pipeline import Pipeline
from otklik.services import cases
from otklik.settings import Settings
from storage import audit
from storage.tables import CaseRow, MessageRow

# The curator at a terminal (no step-up: the CLI asks for the code every time).
CUR = Actor(login="cur", role="curator", via="cli")


def test_platform_statuses_move_the_case(db):
    settings = Settings(sources=[{"name": "im", "platform": "incident_management", "profile_channel": "im"}],
                        profile="tashtagol")
    pipeline = Pipeline.create(db, settings)
    msg = Message(source="im", platform="incident_management", external_id="inc-1", thread=Thread(kind="incident"),
                  author=Author(id="u1"), text="Во дворе не вывозят мусор вторую неделю",
                  created_at=datetime.now(UTC))
    db.ingest("im", Batch(messages=[msg]))
    pipeline.process_pending()
    with db.session() as s:
        row = s.query(CaseRow).one()
        if row.state == "identified":
            cases.route(s, CUR, row.id, executors=["blagoustroystvo"])
        cases.submit_draft(s, CUR, row.id, text="Здравствуйте! Мусор вывезут в четверг, график восстановлен.")
        cases.approve(s, CUR, row.id)
        case_id = row.id
    at = datetime.now(UTC)
    db.ingest("im", Batch(status_changes=[StatusChange(external_id="inc-1", status="returned", comment="Уточните", at=at)]))
    pipeline.process_pending()
    with db.session() as s:
        assert s.get(CaseRow, case_id).state == "revision"
        assert [a.action for a in audit.trail(s, "case", case_id)][-1] == "platform_returned"
    # A status the case cannot take now (nothing was published yet) is recorded, not applied.
    db.ingest("im", Batch(status_changes=[StatusChange(external_id="inc-1", status="accepted", at=at)]))
    pipeline.process_pending()
    with db.session() as s:
        assert s.get(CaseRow, case_id).state == "revision"
        assert "ignored" in audit.trail(s, "case", case_id)[-1].data
        assert s.query(MessageRow).count() == 1
