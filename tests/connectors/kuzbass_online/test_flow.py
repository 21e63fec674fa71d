"""A «Кузбасс Онлайн» appeal end to end on the emulator: it appears on the platform, is stored
and taken into work there at once (004 §2.3: within 24 hours of working days), is routed (the
curator's department becomes the platform's executor), the executor drafts the answer with its
outcome and publishes it (004 §2.3: the executor publishes), and the answer appears on the platform
with the result status решено / разъяснено, which the next poll reads back — real emulator, real
database, the publishing job in-process."""

import asyncio

import pytest
from cryptography.fernet import Fernet

from connectors.base import SourceConfig
from connectors.kuzbass_online.connector import KuzbassOnlineConnector
from otklik.actor import Actor
from otklik.pipeline import Pipeline
from otklik.poller import poll_once
from otklik.services import cases
from otklik.settings import Settings
from sandbox.kuzbass_online.emulator import KuzbassOnlineEmulator
from sandbox.runner import serving
from storage.tables import AuditRow, CaseRow, OutboxRow
from workers import jobs

CUR = Actor(login="cur", role="curator", via="cli")
EXE = Actor(login="exe", role="executor", department="zhkh", via="cli")


@pytest.fixture(autouse=True)
def _secret_key(monkeypatch):
    monkeypatch.setenv("OTKLIK_SECRET_KEY", Fernet.generate_key().decode())


class Context:
    def __init__(self, db, connectors):
        self.db = db
        self.connectors = connectors
        self.loop = asyncio.new_event_loop()

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def connector(self, source):
        return self.connectors[source]


@pytest.mark.parametrize("outcome,status", [("разъяснено", "explained"), ("решено", "solved")])
def test_an_appeal_is_taken_into_work_answered_and_shows_its_result(db, monkeypatch, outcome, status):
    emulator = KuzbassOnlineEmulator()
    with serving(emulator) as server:
        options = {**emulator.demo_options(), "retry_wait": 0}
        settings = Settings(profile="tashtagol", sources=[
            {"name": "ko", "platform": "kuzbass_online", "base_url": server.url,
             "profile_channel": "kuzbass_online", "options": options}])
        monkeypatch.setattr("otklik.settings.get_settings", lambda: settings)
        conn = KuzbassOnlineConnector(SourceConfig(name="ko", platform="kuzbass_online", base_url=server.url,
                                                   secrets=emulator.demo_secrets(), options=options))
        ctx = Context(db, {"ko": conn})
        monkeypatch.setattr(jobs, "get_context", lambda: ctx)
        pipeline = Pipeline.create(db, settings)

        created = server.call(emulator.inject, {"text": "В доме на Поспелова третий день нет горячей воды.",
                                                "category": "ЖКХ", "author_name": "Сергей Ковалёв"})
        appeal = lambda: server.call(lambda: emulator.world.appeals[created["id"]])  # noqa: E731

        ctx.run(poll_once(conn, db))  # stored, and taken into work on the platform
        assert (appeal()["status_label"], appeal()["category"]) == ("принято в работу", {"name": "ЖКХ"})
        pipeline.process_pending()
        with db.session() as s:
            case = s.query(CaseRow).one()
            assert (case.profile, case.channel) == ("tashtagol", "kuzbass_online")
            assert "take_by" in case.record["deadlines"]
            cases.route(s, CUR, case.id, executors=["zhkh"])  # route, or re-route what the router chose
            case_id = case.id
        # The routed department becomes the platform's executor (a second take, same status).
        ctx.run(conn.take_into_work(str(created["id"]), subcategory="Водоснабжение", executor="zhkh",
                                    item=appeal()))
        assert (appeal()["executor"], appeal()["subcategory"]) == ({"name": "zhkh"}, {"name": "Водоснабжение"})

        with db.session() as s:
            cases.submit_draft(s, EXE, case_id, outcome=outcome,
                               text="Здравствуйте! Горячую воду на Поспелова дали сегодня в 15:00.")
            outbox_id = cases.approve(s, EXE, case_id).id
            assert s.get(OutboxRow, outbox_id).reply["outcome"] == outcome
        assert jobs.publish_reply(outbox_id) == "posted"
        assert [(r["appeal_id"], r["result"]) for r in emulator.replies] == [(created["id"], outcome)]
        assert (appeal()["status"], appeal()["status_label"]) == (status, outcome)

        ctx.run(poll_once(conn, db))  # the platform's result status comes back as a status change
        pipeline.apply_platform_events()
        with db.session() as s:
            assert s.get(CaseRow, case_id).state not in ("approved", "publishing")
            actions = {a for (a,) in s.query(AuditRow.action).filter(AuditRow.entity_id == str(case_id))}
            assert f"status:{status}" in actions
        ctx.run(conn.aclose())
