"""The regulated human actions, clause by clause: each is one service function with its permission
rule (otklik/services/access.py), reachable from the API and the CLI, and audited. Real database;
the API through the real aiohttp app; the CLI as a subprocess."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from otklik import http
from otklik.actor import Actor
from otklik.api import auth
from otklik.exceptions import InvalidTransition
from otklik.services import access, case_actions, cases, manual, staff, substitutes
from regulation.escalation import due_events
from regulation.lifecycle import CaseRecord
from regulation.profiles import load_profile
from router.classifier import Router
from storage.tables import AlertRow, AuditRow, CaseRow, MessageRow, UserRow
from tests.otklik.doubles import AppDaemon
from tests.otklik.test_cases_cli import cli, login

PASSWORD = "Sadovaya-yama-42"
CUR = Actor(login="cur", role="curator", via="cli")
HEAD = Actor(login="head", role="head", via="cli")
ADMIN = Actor(login="adm", role="admin", via="cli")
_ids = iter(range(1, 10**6))


def ex(login: str, dept: str) -> Actor:
    return Actor(login=login, role="executor", department=dept, via="cli")


def open_case(s, *, profile: str = "severny", channel: str = "social", importance: str = "normal") -> int:
    n = next(_ids)
    msg = MessageRow(source="tg", platform="telegram", external_id=f"{n}:1", author_id="9",
                     thread={"kind": "chat", "ids": {"chat_id": n, "message_id": 1}}, text="Яма на Садовой",
                     created_at=datetime.now(UTC), attachments=[], raw={}, processed=True)
    s.add(msg)
    s.flush()
    routing = Router.load().route(msg.text).model_copy(update={"needs_manual": True, "importance": importance})
    return cases.open_or_update(s, msg, routing, channel=channel, profile_name=profile).id


def staff_users(s) -> dict[str, str | None]:
    """Every role; returns each login's TOTP secret (None without a second factor)."""
    secrets: dict[str, str | None] = {}
    for login_, role, dept in (("cur", "curator", None), ("head", "head", None), ("adm", "admin", None),
                              ("exe_a", "executor", "dorogi"), ("exe_b", "executor", "zhkh"),
                              ("exe_c", "executor", "ekologiya"), ("appr", "approver", None)):
        _, _, secrets[login_] = auth.create_user(s, login_, role, password=PASSWORD, department=dept)
    return secrets


def audited(s, case_id: int, action: str) -> list[dict]:
    return [a.data for a in s.query(AuditRow).filter(AuditRow.entity == "case", AuditRow.entity_id == str(case_id),
                                                     AuditRow.action == action)]


def test_000_s10_s18_curator_shortens_the_answer_term_and_it_is_audited(db):
    with db.session() as s:
        staff_users(s)
        case_id = open_case(s, profile="sobolevo")
        cases.route(s, CUR, case_id, executors=["dorogi"])
        regular = datetime.fromisoformat(s.get(CaseRow, case_id).record["deadlines"]["answer_by"])
        shorter = regular - timedelta(hours=1)
        row = case_actions.shorten_term(s, CUR, case_id, answer_by=shorter)
        assert row.answer_by == shorter
        with pytest.raises(InvalidTransition, match="only be shortened"):
            case_actions.shorten_term(s, CUR, case_id, answer_by=regular + timedelta(hours=2))
        assert audited(s, case_id, "set_term")
    with db.session() as s, pytest.raises(access.Refused):  # an executor may not
        case_actions.shorten_term(s, ex("exe_a", "dorogi"), case_id, answer_by=shorter - timedelta(minutes=5))


def test_001_s8_curator_shortens_the_term_on_zarechny(db):
    with db.session() as s:
        staff_users(s)
        case_id = open_case(s, profile="zarechny")
        regular = datetime.fromisoformat(s.get(CaseRow, case_id).record["deadlines"]["answer_by"])
        assert case_actions.shorten_term(s, CUR, case_id, answer_by=regular - timedelta(minutes=30)).answer_by \
            == regular - timedelta(minutes=30)


def _intermediate_published(s, case_id: int) -> None:
    cases.route(s, CUR, case_id, executors=["dorogi"])
    cases.submit_draft(s, CUR, case_id, text="Здравствуйте! Промежуточный ответ: работы начаты, срок уточняется.",
                       kind="intermediate")
    row = s.get(CaseRow, case_id)
    cases._apply(s, row, "approve", actor=CUR, role="curator")
    cases._apply(s, row, "published", actor=CUR, role="system")


def test_002_s13_the_final_term_agreed_answers_the_watchers_term_needed(db):
    with db.session() as s:
        staff_users(s)
        case_id = open_case(s, profile="moskalensky", importance="high")
        _intermediate_published(s, case_id)
        row = s.get(CaseRow, case_id)
        assert row.state == "final_due"
        profile = load_profile("moskalensky")
        at = datetime.now(UTC)
        kinds = [e.kind for e in due_events(CaseRecord.model_validate(row.record), at, profile, set())]
        assert "term_needed" in kinds
        final_by = at + timedelta(days=3)
        with pytest.raises(access.Refused):
            case_actions.set_final_term(s, ex("exe_a", "dorogi"), case_id, final_by=final_by)
    with db.session() as s:
        row = case_actions.set_final_term(s, CUR, case_id, final_by=final_by)
        record = CaseRecord.model_validate(row.record)
        assert record.final_by == final_by
        assert "term_needed" not in [e.kind for e in due_events(record, at, profile, set())]
        assert audited(s, case_id, "set_final_term")


def test_000_s19_001_s16_002_s14_003_s12_coexecutors_input_then_the_joint_answer(db):
    with db.session() as s:
        staff_users(s)
        case_id = open_case(s, profile="severny", channel="pos")  # 003 прил. 1 §14: the first is responsible
        cases.route(s, CUR, case_id, executors=["dorogi", "ekologiya"])
        with pytest.raises(access.OutOfScope):  # zhkh has no part in this case: 404, as for none
            case_actions.coexecutor_input(s, ex("exe_b", "zhkh"), case_id, text="Наша часть")
    with db.session() as s:
        with pytest.raises(access.Refused):  # the responsible one is not a co-executor
            case_actions.coexecutor_input(s, ex("exe_a", "dorogi"), case_id, text="Наша часть")
    with db.session() as s:
        draft = case_actions.coexecutor_input(s, ex("exe_c", "ekologiya"), case_id,
                                              text="Экологи проверили участок 12.03: нарушений нет.")
        assert draft.comment == "ekologiya"
        record = s.get(CaseRow, case_id).record
        assert record["coexecutors"][0]["delivered"] is True
        assert record["milestones"]["coexecutors_done_at"] is not None
        with pytest.raises(InvalidTransition, match="already delivered"):
            case_actions.coexecutor_input(s, CUR, case_id, text="ещё раз", department="ekologiya")
    with db.session() as s:
        assert case_actions.inputs(s, case_id)[0]["department"] == "ekologiya"
        # The responsible executor writes the joint answer with that input.
        cases.submit_draft(s, ex("exe_a", "dorogi"), case_id,
                           text="Здравствуйте! Дорожники заделали яму, экологи нарушений не нашли.")
        assert s.get(CaseRow, case_id).state == "on_approval"
        assert audited(s, case_id, "coexecutor_input")


def test_003_s12_curator_names_the_responsible_executor(db):
    with db.session() as s:
        staff_users(s)
        case_id = open_case(s, profile="severny", channel="pos")
        cases.route(s, CUR, case_id, executors=["dorogi", "ekologiya"])
        row = case_actions.set_responsible(s, CUR, case_id, responsible="ekologiya")
        assert row.record["responsible"] == "ekologiya"
        assert [m["department"] for m in row.record["coexecutors"]] == ["dorogi"]


def test_000_app2_s2_9_kamchatka_repeat_decided_within_one_working_day(db):
    with db.session() as s:
        staff_users(s)
        first = open_case(s, profile="sobolevo", channel="kamchatka")
        case_id = open_case(s, profile="sobolevo", channel="kamchatka")
        cases.route(s, CUR, case_id, executors=["dorogi"])
        assert s.get(CaseRow, case_id).record["deadlines"]["repeat_decision_by"] is not None
        row = case_actions.decide_repeat(s, ex("exe_a", "dorogi"), case_id, repeat_of=first)
        assert row.record["repeat_of"] == first and row.record["repeat_decided"] is True
        with pytest.raises(InvalidTransition, match="no earlier case"):
            case_actions.decide_repeat(s, CUR, case_id, repeat_of=10**9)
        entry = audited(s, case_id, "decide_repeat")[0]
        assert entry["late"] is False and entry["clause"] == "000 прил. 2 §2.9"


def test_importance_and_location_set_by_the_curator(db):
    with db.session() as s:
        staff_users(s)
        case_id = open_case(s, profile="sobolevo")
        before = s.get(CaseRow, case_id).answer_by
        row = case_actions.set_importance(s, CUR, case_id, importance="high")
        assert row.importance == "high" and row.answer_by < before  # 000 §10 ¶2: 4 hours, not 8
        row = case_actions.set_location(s, CUR, case_id, location="ул. Садовая, 5")
        assert row.location == [{"name": "ул. Садовая, 5", "kind": "manual"}]
        assert audited(s, case_id, "set_importance") and audited(s, case_id, "set_location")
    with db.session() as s, pytest.raises(access.Refused):
        case_actions.set_location(s, ex("exe_a", "dorogi"), case_id, location="где-то")


def test_close_as_not_processed_or_forwarded_to_another_body(db):
    with db.session() as s:
        staff_users(s)
        a, b = open_case(s), open_case(s)
        with pytest.raises(InvalidTransition, match="names the body"):
            case_actions.close(s, CUR, a, reason="forwarded")
    with db.session() as s:
        row = case_actions.close(s, CUR, a, reason="forwarded", forwarded_to="Прокуратура района",
                                 comment="вне компетенции администрации")
        assert row.state == "closed" and row.record["forwarded_to"] == "Прокуратура района"
        assert case_actions.close(s, CUR, b, reason="not_processed").record["closed_reason"] == "not_processed"
        assert audited(s, a, "close")[0]["data"]["forwarded_to"] == "Прокуратура района"


def test_000_s8_004_manual_monitoring_entry_with_its_link(db):
    with db.session() as s:
        staff_users(s)
        row = manual.enter(s, CUR, text="В сквере на Ленина сломаны качели", url="https://example.org/forum/123",
                           network="web")
        assert (row.source, row.url, row.processed) == ("manual", "https://example.org/forum/123", False)
        with pytest.raises(InvalidTransition, match="already entered"):
            manual.enter(s, CUR, text="ещё раз", url="https://example.org/forum/123", network="web")
        with pytest.raises(InvalidTransition, match="link"):
            manual.enter(s, CUR, text="текст", url="javascript:alert(1)", network="vk")
    with db.session() as s, pytest.raises(access.Refused):
        manual.enter(s, ex("exe_a", "dorogi"), text="текст", url="https://vk.com/wall-1_2", network="vk")


def test_000_s9_assignment_goes_to_the_substitute_while_the_executor_is_away(db):
    with db.session() as s:
        staff_users(s)
        case_id = open_case(s)
        cases.route(s, CUR, case_id, executors=["dorogi"])
        today = access.local_today()
        substitutes.add(s, ADMIN, "exe_a", "exe_b", today - timedelta(days=1), today + timedelta(days=2))
        assert staff.working_on(s, case_id, today) == [{"login": "exe_b", "department": "dorogi", "for": "exe_a"}]
        assert staff.working_on(s, case_id, today + timedelta(days=3)) == [
            {"login": "exe_a", "department": "dorogi", "for": None}]
        assert cases.show(s, CUR, case_id)["working_on"][0]["login"] == "exe_b"
        # The substitute may work the case while the executor is away.
        cases.submit_draft(s, ex("exe_b", "zhkh"), case_id, text="Здравствуйте! Яму на Садовой заделают завтра.")


def test_000_s9_dismissal_notice_to_the_curator_within_3_calendar_days(db):
    with db.session() as s:
        staff_users(s)
        profile = load_profile("sobolevo")
        order = datetime(2026, 3, 2, tzinfo=UTC).date()  # a Monday
        on_time = profile.calendar.local(datetime(2026, 3, 4, 12))
        out = staff.dismiss(s, ADMIN, "exe_a", dismissed_on=order, profile="sobolevo", at=on_time)
        assert out["late"] is False and out["clause"] == "000 §9"
        # Three calendar days from the order's date, the Civil Code way: to the end of 5 March.
        assert datetime.fromisoformat(out["notice_by"]) == profile.calendar.local(datetime(2026, 3, 5, 23, 59, 59))
        assert s.query(UserRow).filter_by(login="exe_a").one().active is False
        late = staff.dismiss(s, "shell:root", "exe_b", dismissed_on=order, profile="sobolevo",
                             at=profile.calendar.local(datetime(2026, 3, 6, 9)))
        assert late["late"] is True
        alerts = s.query(AlertRow).filter_by(kind="dismissal").order_by(AlertRow.id).all()
        assert [a.data["login"] for a in alerts] == ["exe_a", "exe_b"]
        assert "срок пропущен" in alerts[1].text and "000 §9" in alerts[0].text
        assert s.query(AuditRow).filter_by(action="user_dismissed").count() == 2
    with db.session() as s, pytest.raises(access.Refused):
        staff.dismiss(s, CUR, "exe_c", dismissed_on=order, profile="sobolevo")


async def test_every_action_is_on_the_api_with_4xx_for_bad_input_and_refusals(db):
    with db.session() as s:
        secrets = staff_users(s)
        case_id = open_case(s, profile="sobolevo")
        other = open_case(s, profile="sobolevo")
    async with TestClient(TestServer(http.build_app(AppDaemon(db)))) as c:
        headers = {}
        for who in ("cur", "exe_a"):
            body = {"login": who, "password": PASSWORD}
            if secrets[who]:
                body["otp"] = pyotp.TOTP(secrets[who]).now()
            r = await c.post("/api/login", json=body)
            assert r.status == 200, await r.text()
            headers[who] = {"Authorization": f"Bearer {(await r.json())['token']}"}
        cur = headers["cur"]
        r = await c.post(f"/api/cases/{case_id}/importance", json={"importance": "high"}, headers=cur)
        assert r.status == 200 and (await r.json())["importance"] == "high"
        r = await c.post(f"/api/cases/{case_id}/importance", json={"importance": "urgent"}, headers=cur)
        assert r.status == 400
        r = await c.post(f"/api/cases/{case_id}/location", json={"location": "ул. Мира, 3"}, headers=cur)
        assert r.status == 200 and (await r.json())["location"][0]["name"] == "ул. Мира, 3"
        r = await c.post(f"/api/cases/{case_id}/location", json={"location": "x"}, headers=headers["exe_a"])
        assert r.status in (403, 404)
        r = await c.post(f"/api/cases/{case_id}/term", json={"answer_by": "not a date"}, headers=cur)
        assert r.status == 400
        r = await c.post(f"/api/cases/{case_id}/final-term", json={"final_by": "2030-01-01T10:00:00"}, headers=cur)
        assert r.status == 409  # not a high-importance case after an intermediate answer
        r = await c.post(f"/api/cases/{case_id}/repeat", json={"repeat_of": other}, headers=cur)
        assert r.status == 200
        r = await c.post(f"/api/cases/{case_id}/coexecutor-input", json={"text": "часть"}, headers=cur)
        assert r.status == 409  # no co-executors
        r = await c.post(f"/api/cases/{case_id}/responsible", json={"responsible": "dorogi"}, headers=cur)
        assert r.status == 403  # 000 §19.1: the head names the responsible executor, not the curator
        r = await c.post(f"/api/cases/{case_id}/close", json={"reason": "forwarded", "forwarded_to": "МЧС"},
                         headers=cur)
        assert r.status == 200 and (await r.json())["state"] == "closed"
        r = await c.post("/api/messages/manual", json={"text": "Нет света на Лесной", "network": "vk",
                                                       "url": "https://vk.com/wall-1_77"}, headers=cur)
        assert r.status == 201
        r = await c.post("/api/messages/manual", json={"text": "Нет света на Лесной", "network": "vk",
                                                       "url": "https://vk.com/wall-1_77"}, headers=cur)
        assert r.status == 409
        r = await c.post("/api/users/exe_a/dismiss", json={"dismissed_on": "2020-13-01"}, headers=cur)
        assert r.status in (400, 403)  # a bad date, and curators do not run the directory
        r = await c.post("/api/users/exe_a/dismiss", json={"dismissed_on": "2026-01-01"}, headers=cur)
        assert r.status == 403
        spec = await (await c.get("/api/openapi.json")).json()
        for path in ("term", "final-term", "responsible", "coexecutor-input", "repeat", "importance", "location",
                     "close"):
            op = spec["paths"][f"/api/cases/{{id}}/{path}"]["post"]
            assert {"400", "401", "403", "404", "409"} <= set(op["responses"])
        assert "/api/messages/manual" in spec["paths"]


async def test_000_s9_dismissal_on_the_api_by_an_admin(db, monkeypatch):
    from otklik.settings import Settings

    monkeypatch.setattr("otklik.settings.get_settings", lambda: Settings(profile="sobolevo"))
    with db.session() as s:
        secrets = staff_users(s)
    async with TestClient(TestServer(http.build_app(AppDaemon(db)))) as c:
        r = await c.post("/api/login", json={"login": "adm", "password": PASSWORD,
                                             "otp": pyotp.TOTP(secrets["adm"]).now()})
        adm = {"Authorization": f"Bearer {(await r.json())['token']}"}
        today = access.local_today().isoformat()
        r = await c.post("/api/users/exe_a/dismiss", json={"dismissed_on": "yesterday"}, headers=adm)
        assert r.status == 400
        r = await c.post("/api/users/exe_a/dismiss", json={"dismissed_on": today}, headers=adm)
        assert r.status == 200, await r.text()
        assert (await r.json())["clause"] == "000 §9"
        r = await c.post("/api/users/nobody/dismiss", json={"dismissed_on": today}, headers=adm)
        assert r.status == 404
    with db.session() as s:
        assert s.query(AlertRow).filter_by(kind="dismissal").count() == 1


def test_the_actions_from_the_terminal(db, database_url, tmp_path):
    with db.session() as s:
        secrets = staff_users(s)
        case_id = open_case(s, profile="sobolevo")
    session = login(database_url, tmp_path, "cur", pyotp.TOTP(secrets["cur"]).now())
    r = cli(database_url, "importance", str(case_id), "high", session_file=session)
    assert r.returncode == 0, r.stderr
    r = cli(database_url, "location", str(case_id), "ул. Мира, 3", session_file=session)
    assert r.returncode == 0, r.stderr
    r = cli(database_url, "enter", "Не горит фонарь у школы", "--link", "https://ok.ru/group/1/topic/2",
            "--network", "ok", session_file=session)
    assert r.returncode == 0, r.stderr
    r = cli(database_url, "close", str(case_id), "forwarded", "--to", "Росавтодор", session_file=session)
    assert r.returncode == 0, r.stderr
    with db.session() as s:
        row = s.get(CaseRow, case_id)
        assert (row.importance, row.state, row.record["forwarded_to"]) == ("high", "closed", "Росавтодор")
        assert s.query(MessageRow).filter_by(source="manual").count() == 1
        assert {a.actor for a in s.query(AuditRow).filter(AuditRow.action.in_(
            ("set_importance", "set_location", "close", "message_entered")))} == {"cur"}


def test_000_s9_dismissal_from_the_terminal(db, database_url, monkeypatch):
    monkeypatch.setenv("OTKLIK_PROFILE", "sobolevo")
    with db.session() as s:
        staff_users(s)
    r = cli(database_url, "dismiss", "exe_b", "--on", "not-a-date", command="users")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = cli(database_url, "dismiss", "exe_b", "--on", access.local_today().isoformat(), command="users")
    assert r.returncode == 0, r.stderr
    assert "куратор уведомлён" in r.stderr
    with db.session() as s:
        alert = s.query(AlertRow).filter_by(kind="dismissal").one()
        assert alert.data["login"] == "exe_b" and alert.data["late"] is False
        assert s.query(UserRow).filter_by(login="exe_b").one().active is False
