"""Citizens' feedback and the platforms' decisions moving cases, end to end on the emulators: real
emulators over HTTP, real connectors, the real pipeline and database, the publishing job in-process.
Each test is named after the clause it holds."""

import asyncio
from datetime import datetime, timedelta

from connectors.base import SourceConfig
from connectors.incident_management.connector import IncidentManagementConnector
from connectors.kamchatka.connector import KamchatkaConnector
from connectors.pos.connector import PosConnector
from connectors.telegram.connector import TelegramConnector
from otklik.actor import Actor
from otklik.pipeline import Pipeline
from otklik.poller import poll_once
from otklik.services import cases
from otklik.settings import Settings
from otklik.watcher import DeadlineWatcher
from sandbox import shared
from sandbox.incident_management.emulator import IncidentManagementEmulator
from sandbox.kamchatka.emulator import KamchatkaEmulator
from sandbox.pos.emulator import PosEmulator
from sandbox.runner import serving
from sandbox.telegram.emulator import TOKEN, TelegramEmulator
from storage.tables import AuditRow, CaseRow, DepartmentRow, OutboxRow
from workers import jobs

CUR = Actor(login="cur", role="curator", via="cli")  # at a terminal: no step-up
BOSS = Actor(login="boss", role="approver", via="cli")
DAY = 24 * 3600


class Context:
    def __init__(self, db, connectors):
        self.db = db
        self.connectors = connectors
        self.loop = asyncio.new_event_loop()

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def connector(self, source):
        return self.connectors[source]

    def close(self):
        for conn in self.connectors.values():
            self.run(conn.aclose())
        self.loop.close()


def _case(db) -> CaseRow:
    with db.session() as s:
        row = s.query(CaseRow).one()
        s.expunge(row)
        return row


def _route_if_needed(s, case_id: int, executor: str = "blagoustroystvo") -> None:
    row = s.get(CaseRow, case_id)
    if row.state in ("identified", "returned"):
        if s.get(DepartmentRow, executor) is None:
            s.add(DepartmentRow(id=executor, name="Благоустройство"))
            s.flush()
        cases.route(s, CUR, case_id, executors=[executor])


def _take_in(ctx, conn, db, pipeline) -> None:
    """One poll of the platform, then the pipeline over what it stored (feedback moves the case)."""
    ctx.run(poll_once(conn, db))
    pipeline.process_pending()


def _unsent(db) -> list[str]:
    with db.session() as s:
        return [r.id for r in s.query(OutboxRow).filter(OutboxRow.status == "pending").order_by(OutboxRow.created_at)]


def test_004_s2_1_im_comment_returns_to_work_new_answer_accepted_after_two_quiet_days(db, monkeypatch):
    im_emulator, tg_emulator = IncidentManagementEmulator(), TelegramEmulator()
    with serving(im_emulator) as im, serving(tg_emulator) as tg:
        settings = Settings(profile="tashtagol", sources=[
            {"name": "im", "platform": "incident_management", "base_url": im.url, "profile_channel": "im"},
            {"name": "tg", "platform": "telegram", "base_url": tg.url}])
        monkeypatch.setattr("otklik.settings.get_settings", lambda: settings)
        shared.link({"incident_management": im_emulator, "telegram": tg_emulator})  # one world
        created = im.call(im_emulator.inject, {"text": "Во дворе на Садовой не вывозят мусор", "network": "telegram"})
        im_conn = IncidentManagementConnector(SourceConfig(name="im", platform="incident_management",
                                                           base_url=im.url, secrets=im_emulator.demo_secrets()))
        tg_conn = TelegramConnector(SourceConfig(name="tg", platform="telegram", base_url=tg.url,
                                                 secrets={"token": TOKEN}))
        ctx = Context(db, {"im": im_conn, "tg": tg_conn})
        monkeypatch.setattr(jobs, "get_context", lambda: ctx)
        pipeline = Pipeline.create(db, settings)
        watcher = DeadlineWatcher(db, settings)

        def answer_and_publish(text: str) -> None:
            with db.session() as s:
                case_id = s.query(CaseRow.id).scalar()
                _route_if_needed(s, case_id)
                cases.submit_draft(s, CUR, case_id, text=text)
                first = cases.approve(s, CUR, case_id).id
            assert jobs.publish_reply(first) == "posted"  # into Incident Management
            im.call(im_emulator.approve, created["id"])  # the regional centre approves
            ctx.run(poll_once(im_conn, db))
            pipeline.process_pending()
            for outbox_id in _unsent(db):
                assert jobs.publish_reply(outbox_id) == "posted"  # then in the Telegram thread

        ctx.run(poll_once(im_conn, db))
        pipeline.process_pending()
        answer_and_publish("Здравствуйте! Мусор на Садовой вывезут завтра до 12:00, график восстановлен.")
        published = _case(db)
        assert published.state == "awaiting_feedback"
        assert len(tg_emulator.replies) == 1

        # The citizen comments within the two days: the case is back with the same executor.
        im.call(im_emulator.inject, {"kind": "dispute", "id": created["id"], "text": "Мусор так и не вывезли"})
        ctx.run(poll_once(im_conn, db))
        pipeline.process_pending()
        reopened = _case(db)
        assert reopened.state == "routed" and reopened.executors == ["blagoustroystvo"]
        assert reopened.record["reopened"] == 1 and reopened.record["feedback"]["kind"] == "comment"
        # Two days after the first answer the watcher must not accept it: the comment reopened it.
        watcher.scan(at=published.updated_at + timedelta(days=2, hours=1))
        assert _case(db).state == "routed"

        answer_and_publish("Здравствуйте! Контейнерную площадку на Садовой очистили сегодня в 10:00.")
        second = _case(db)
        assert second.state == "awaiting_feedback" and len(tg_emulator.replies) == 2
        until = datetime.fromisoformat(second.record["deadlines"]["feedback_until"])
        published_at = datetime.fromisoformat(second.record["milestones"]["published_at"])
        assert until - published_at == timedelta(days=2)  # recomputed from the new answer
        watcher.scan(at=until - timedelta(minutes=1))
        assert _case(db).state == "awaiting_feedback"  # one minute short of two quiet days
        watcher.scan(at=until + timedelta(minutes=1))
        assert _case(db).state == "accepted"
        ctx.close()


def test_shared_world_an_incident_found_in_telegram_is_answered_there_as_a_reply(db, monkeypatch):
    """Issue 19: what Incident Management reports as found in Telegram exists in the Telegram
    emulator, and the answer approved by the regional centre is posted there as a reply to it."""
    im_emulator, tg_emulator = IncidentManagementEmulator(), TelegramEmulator()
    with serving(im_emulator) as im, serving(tg_emulator) as tg:
        assert shared.link({"incident_management": im_emulator, "telegram": tg_emulator})
        settings = Settings(profile="tashtagol", sources=[
            {"name": "im", "platform": "incident_management", "base_url": im.url, "profile_channel": "im"},
            {"name": "tg", "platform": "telegram", "base_url": tg.url}])
        monkeypatch.setattr("otklik.settings.get_settings", lambda: settings)
        created = im.call(im_emulator.inject, {"text": "Не работает фонтан в парке", "network": "telegram",
                                               "author_name": "Пётр"})
        source = im.call(lambda: im_emulator.world.incidents[created["id"]]["source"])
        key = (source["thread"]["chat_id"], source["thread"]["message_id"])
        found = tg.call(lambda: tg_emulator.world.messages.get(key))
        assert found is not None and found["text"] == "Не работает фонтан в парке"
        assert source["post_url"].endswith(f"/{key[1]}")
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
            case_id = s.query(CaseRow.id).scalar()
            _route_if_needed(s, case_id)
            cases.submit_draft(s, CUR, case_id, text="Здравствуйте! Фонтан в парке запустят в субботу.")
            first = cases.approve(s, CUR, case_id).id
        assert jobs.publish_reply(first) == "posted"
        im.call(im_emulator.approve, created["id"])
        ctx.run(poll_once(im_conn, db))
        pipeline.process_pending()
        (second,) = _unsent(db)
        assert jobs.publish_reply(second) == "posted"
        assert tg_emulator.replies[0]["reply_to"] == f"{key[0]}:{key[1]}"
        answers = im.call(lambda: im_emulator.world.incidents[created["id"]]["answers"])
        assert any(a.get("publication_url") for a in answers)
        ctx.close()


def test_004_s2_1_im_platform_accepts_after_its_own_two_day_timer(db, monkeypatch):
    emulator = IncidentManagementEmulator()
    with serving(emulator) as im:
        settings = Settings(profile="tashtagol", sources=[
            {"name": "im", "platform": "incident_management", "base_url": im.url, "profile_channel": "im"}])
        monkeypatch.setattr("otklik.settings.get_settings", lambda: settings)
        created = im.call(emulator.inject, {"text": "Яма на дороге у школы № 3", "network": "vk"})
        conn = IncidentManagementConnector(SourceConfig(name="im", platform="incident_management",
                                                        base_url=im.url, secrets=emulator.demo_secrets()))
        ctx = Context(db, {"im": conn})
        monkeypatch.setattr(jobs, "get_context", lambda: ctx)
        pipeline = Pipeline.create(db, settings)
        _take_in(ctx, conn, db, pipeline)
        with db.session() as s:
            case_id = s.query(CaseRow.id).scalar()
            _route_if_needed(s, case_id, "dorogi")
            cases.submit_draft(s, CUR, case_id, text="Здравствуйте! Яму у школы № 3 заделают до пятницы.")
            outbox_id = cases.approve(s, CUR, case_id).id
        assert jobs.publish_reply(outbox_id) == "posted"
        im.call(emulator.approve, created["id"])

        def publish_and_wait():  # the answer is out in the network; then two days of silence
            world = emulator.world
            inc = world.incidents[created["id"]]
            world.publish(created["id"], {"url": "https://vk.com/wall-1_1?reply=2", "answer_id": inc["answers"][-1]["id"]})
            return emulator.advance(2 * DAY + 60)
        assert im.call(publish_and_wait) == [created["id"]]
        _take_in(ctx, conn, db, pipeline)
        case = _case(db)
        assert case.state == "accepted" and case.record["feedback"]["kind"] == "closed"
        ctx.close()


def test_004_s2_2_pos_answer_rejected_by_moderator_or_user_returns_to_work(db, monkeypatch):
    emulator = PosEmulator()
    with serving(emulator) as pos:
        settings = Settings(profile="tashtagol", sources=[
            {"name": "pos", "platform": "pos", "base_url": pos.url, "profile_channel": "pos"}])
        monkeypatch.setattr("otklik.settings.get_settings", lambda: settings)
        appeal = pos.call(emulator.inject, {"text": "Не горят фонари на улице Ленина, темно вечером"})
        conn = PosConnector(SourceConfig(name="pos", platform="pos", base_url=pos.url,
                                         secrets=emulator.demo_secrets()))
        ctx = Context(db, {"pos": conn})
        monkeypatch.setattr(jobs, "get_context", lambda: ctx)
        pipeline = Pipeline.create(db, settings)

        def answer(text: str) -> None:
            with db.session() as s:
                case_id = s.query(CaseRow.id).scalar()
                _route_if_needed(s, case_id)
                cases.submit_draft(s, CUR, case_id, text=text)
                outbox_id = cases.approve(s, CUR, case_id).id
            assert jobs.publish_reply(outbox_id) == "posted"

        _take_in(ctx, conn, db, pipeline)
        answer("Здравствуйте! Фонари на улице Ленина включат сегодня к 18:00.")
        assert _case(db).state == "awaiting_feedback"
        # The platform's moderator returns the answer: back to revision.
        pos.call(emulator.return_answer, appeal["id"], "Укажите, кто и когда проверит освещение")
        _take_in(ctx, conn, db, pipeline)
        assert _case(db).state == "revision"
        answer("Здравствуйте! Фонари на улице Ленина включены, мастер проверил линию 12.03.")
        pos.call(emulator.approve, appeal["id"])
        _take_in(ctx, conn, db, pipeline)
        assert _case(db).state == "awaiting_feedback"
        # The user's negative comment: back to work with the same executor, the term counted anew.
        result = pos.call(emulator.inject, {"kind": "dispute", "id": appeal["id"], "text": "Опять не горят"})
        assert result["delivered"]
        _take_in(ctx, conn, db, pipeline)
        case = _case(db)
        assert case.state == "routed" and case.executors == ["blagoustroystvo"]
        assert case.record["feedback"]["kind"] == "negative_comment" and case.record["reopened"] == 1
        assert case.record["milestones"]["reopened_at"] is not None
        ctx.close()


def _kamchatka(db, monkeypatch, emulator, url):
    settings = Settings(profile="sobolevo", sources=[
        {"name": "kam", "platform": "kamchatka", "base_url": url, "profile_channel": "kamchatka",
         "options": {"no_photo_reason": "работы проверены на месте, результат не фотографируется"}}])
    monkeypatch.setattr("otklik.settings.get_settings", lambda: settings)
    conn = KamchatkaConnector(SourceConfig(name="kam", platform="kamchatka", base_url=url,
                                           secrets=emulator.demo_secrets(),
                                           options={"no_photo_reason": "работы проверены на месте"}))
    ctx = Context(db, {"kam": conn})
    monkeypatch.setattr(jobs, "get_context", lambda: ctx)
    return settings, conn, ctx


def test_000_app2_s2_8_kamchatka_rework_is_reassigned_the_same_day(db, monkeypatch):
    emulator = KamchatkaEmulator()
    with serving(emulator) as kam:
        settings, conn, ctx = _kamchatka(db, monkeypatch, emulator, kam.url)
        created = kam.call(emulator.inject, {"text": "Сломана скамейка в сквере на Набережной"})
        pipeline = Pipeline.create(db, settings)
        _take_in(ctx, conn, db, pipeline)
        with db.session() as s:
            case_id = s.query(CaseRow.id).scalar()
            _route_if_needed(s, case_id)
            cases.submit_draft(s, CUR, case_id, text="Здравствуйте! Скамейку в сквере заменили 12.03.")
            outbox_id = cases.approve(s, BOSS, case_id).id
        assert jobs.publish_reply(outbox_id) == "posted"
        answered = _case(db)
        assert answered.state == "awaiting_feedback"
        old_answer_by = answered.answer_by

        kam.call(emulator.advance, 2 * DAY)  # two days later the citizen sends it back
        kam.call(emulator.inject, {"kind": "dispute", "id": created["id"], "text": "Скамейку не заменили"})
        platform_deadline = kam.call(lambda: emulator.world.get(created["id"])["deadline"])
        _take_in(ctx, conn, db, pipeline)
        case = _case(db)
        # Re-assigned to the same executor at once, with the platform's new term.
        assert case.state == "routed" and case.executors == ["blagoustroystvo"]
        assert case.record["feedback"]["kind"] == "rework"
        reopened_at = datetime.fromisoformat(case.record["milestones"]["reopened_at"])
        routed_at = datetime.fromisoformat(case.record["milestones"]["routed_at"])
        assert routed_at == reopened_at
        assert datetime.fromisoformat(case.record["platform_deadline"]) == datetime.fromisoformat(platform_deadline)
        assert case.answer_by > old_answer_by
        ctx.close()


def test_000_app2_s2_7_kamchatka_confirmation_accepts_and_rating_is_kept(db, monkeypatch):
    emulator = KamchatkaEmulator()
    with serving(emulator) as kam:
        settings, conn, ctx = _kamchatka(db, monkeypatch, emulator, kam.url)
        created = kam.call(emulator.inject, {"text": "Не убран снег во дворе дома 5 по улице Мира"})
        pipeline = Pipeline.create(db, settings)
        _take_in(ctx, conn, db, pipeline)
        with db.session() as s:
            case_id = s.query(CaseRow.id).scalar()
            _route_if_needed(s, case_id)
            cases.submit_draft(s, CUR, case_id, text="Здравствуйте! Двор дома 5 по улице Мира очищен от снега.")
            outbox_id = cases.approve(s, BOSS, case_id).id
        assert jobs.publish_reply(outbox_id) == "posted"
        kam.call(emulator.inject, {"kind": "rate", "id": created["id"], "rating": 4, "text": "Спасибо"})
        _take_in(ctx, conn, db, pipeline)
        case = _case(db)
        assert case.state == "accepted"
        kinds = [f["kind"] for f in case.record["feedback_history"]]
        assert "confirm" in kinds
        ctx.close()


def test_000_app2_s2_5_kamchatka_extension_sent_once_and_the_platform_decision_comes_back(db, monkeypatch):
    emulator = KamchatkaEmulator()
    with serving(emulator) as kam:
        settings, conn, ctx = _kamchatka(db, monkeypatch, emulator, kam.url)
        created = kam.call(emulator.inject, {"text": "Не работает светофор на перекрёстке Ленина и Мира"})
        pipeline = Pipeline.create(db, settings)
        _take_in(ctx, conn, db, pipeline)
        with db.session() as s:
            case_id = s.query(CaseRow.id).scalar()
            _route_if_needed(s, case_id)
            cases.request_extension(s, CUR, case_id, days=5, comment="Нужна поставка контроллера")
        before = _case(db).answer_by
        pending = _unsent(db)
        assert len(pending) == 1
        assert jobs.publish_reply(pending[0]) == "posted"
        assert jobs.publish_reply(pending[0]) == "nothing to do"  # once
        # A worker killed mid-request: the relay's retry asks again with the same key; the platform
        # returns the first request, nothing is asked twice.
        with db.session() as s:
            row = s.get(OutboxRow, pending[0])
            row.status, row.sending_at = "sending", row.created_at - timedelta(hours=1)
        assert jobs.publish_reply(pending[0]) == "posted"
        events = kam.call(lambda: [e["type"] for e in emulator.world.get(created["id"])["events"]])
        assert events.count("extension_requested") == 1
        assert _case(db).state == "routed"  # asking is not answering

        decided = kam.call(emulator.decide_extension, created["id"], True, "Согласовано")
        _take_in(ctx, conn, db, pipeline)
        case = _case(db)
        assert case.record["extension"]["granted"] is True
        assert datetime.fromisoformat(case.record["platform_deadline"]) == datetime.fromisoformat(decided["deadline"])
        assert case.answer_by > before
        with db.session() as s:
            decisions = [a.data for a in s.query(AuditRow).filter(AuditRow.entity == "case",
                                                                 AuditRow.action == "decide_extension")]
        assert decisions and decisions[0]["data"]["decided_by"] == "platform"
        ctx.close()


def test_000_app2_s2_5_kamchatka_extension_refused_by_the_platform(db, monkeypatch):
    emulator = KamchatkaEmulator()
    with serving(emulator) as kam:
        settings, conn, ctx = _kamchatka(db, monkeypatch, emulator, kam.url)
        created = kam.call(emulator.inject, {"text": "Течёт крыша в подъезде дома 7 по Садовой"})
        pipeline = Pipeline.create(db, settings)
        _take_in(ctx, conn, db, pipeline)
        with db.session() as s:
            case_id = s.query(CaseRow.id).scalar()
            _route_if_needed(s, case_id)
            cases.request_extension(s, CUR, case_id, days=3, comment="Ждём подрядчика")
        before = _case(db).answer_by
        assert jobs.publish_reply(_unsent(db)[0]) == "posted"
        kam.call(emulator.decide_extension, created["id"], False, "Срок не продлевается")
        _take_in(ctx, conn, db, pipeline)
        case = _case(db)
        assert case.record["extension"]["granted"] is False and case.answer_by == before
        ctx.close()
