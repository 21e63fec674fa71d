"""An Incident Management incident found in Telegram, end to end: it is stored and routed, the
local approval submits the answer to the regional centre, the centre approves it, the answer is
posted in the Telegram thread where the citizen wrote, and the incident is marked answered with
the link — real emulators, real database, the publishing job in-process."""

import asyncio

from connectors.base import SourceConfig
from connectors.incident_management.connector import IncidentManagementConnector
from connectors.telegram.connector import TelegramConnector
from otklik.actor import Actor
from otklik.pipeline import Pipeline
from otklik.poller import poll_once
from otklik.services import cases
from otklik.settings import Settings
from sandbox.incident_management.emulator import IncidentManagementEmulator
from sandbox.runner import serving
from sandbox.telegram.emulator import TOKEN, TelegramEmulator
from storage.tables import CaseRow, OutboxRow
from workers import jobs

# The curator at a terminal (no step-up: the CLI asks for the code every time).
CUR = Actor(login="cur", role="curator", via="cli")


class Context:
    def __init__(self, db, connectors):
        self.db = db
        self.connectors = connectors
        self.loop = asyncio.new_event_loop()

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def connector(self, source):
        return self.connectors[source]


def test_incident_answered_in_the_social_network_after_regional_approval(db, monkeypatch):
    im_emulator, tg_emulator = IncidentManagementEmulator(), TelegramEmulator()
    with serving(im_emulator) as im, serving(tg_emulator) as tg:
        settings = Settings(profile="tashtagol", sources=[
            {"name": "im", "platform": "incident_management", "base_url": im.url, "profile_channel": "im"},
            {"name": "tg", "platform": "telegram", "base_url": tg.url}])
        monkeypatch.setattr("otklik.settings.get_settings", lambda: settings)
        # The citizen's message in a Telegram group, and the incident the monitoring made of it.
        post = tg.call(tg_emulator.inject, {"text": "Во дворе на Садовой не вывозят мусор", "chat": "group",
                                            "author_id": 5151})
        created = im.call(im_emulator.inject, {"text": "Во дворе на Садовой не вывозят мусор", "network": "telegram"})

        def point_at_telegram():
            source = im_emulator.world.incidents[created["id"]]["source"]
            source["thread"] = {"chat_id": post["chat_id"], "message_id": post["message_id"]}
        im.call(point_at_telegram)

        im_conn = IncidentManagementConnector(SourceConfig(name="im", platform="incident_management",
                                                           base_url=im.url, secrets=im_emulator.demo_secrets()))
        tg_conn = TelegramConnector(SourceConfig(name="tg", platform="telegram", base_url=tg.url,
                                                 secrets={"token": TOKEN}))
        ctx = Context(db, {"im": im_conn, "tg": tg_conn})
        monkeypatch.setattr(jobs, "get_context", lambda: ctx)
        pipeline = Pipeline.create(db, settings)

        ctx.run(poll_once(im_conn, db))
        pipeline.process_pending()
        with db.session() as s:
            case = s.query(CaseRow).one()
            if case.state == "identified":
                cases.route(s, CUR, case.id, executors=["blagoustroystvo"])
            cases.submit_draft(s, CUR, case.id,
                               text="Здравствуйте! Мусор на Садовой вывезут завтра до 12:00, график восстановлен.")
            first = cases.approve(s, CUR, case.id).id
        assert jobs.publish_reply(first) == "posted"  # submitted to the regional centre
        assert tg_emulator.replies == []  # not in the network before the centre approves

        im.call(im_emulator.approve, created["id"])
        ctx.run(poll_once(im_conn, db))
        pipeline.process_pending()
        with db.session() as s:
            second = s.query(OutboxRow).filter(OutboxRow.id != first).one()
            assert second.source == "tg" and second.reply["mirror_source"] == "im"
        assert jobs.publish_reply(second.id) == "posted"
        assert tg_emulator.replies[0]["reply_to"] == f"{post['chat_id']}:{post['message_id']}"
        with db.session() as s:
            assert s.get(OutboxRow, second.id).mirrored
        answers = im.call(lambda: im_emulator.world.incidents[created["id"]]["answers"])
        assert any(a.get("publication_url") for a in answers)
        ctx.run(im_conn.aclose())
        ctx.run(tg_conn.aclose())
