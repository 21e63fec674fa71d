"""The head's dashboard, the moderation list with its highlighted spans and the overrule, the
troubled deliveries, the sources' health and the users' list: the service functions the console's
pages and the API share, on a real database, and their refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pyotp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from otklik import http, services
from otklik.actor import Actor
from otklik.api import auth
from otklik.exceptions import InvalidTransition
from otklik.services import access, dashboard, deliveries, messages, sources, users
from otklik.services.dashboard import CaseFacts, summarize
from reports.sample import Spec, ensure_departments, insert_cases
from storage import quarantine
from storage.tables import (
    AlertRow,
    AuditRow,
    DraftRow,
    MessageRow,
    OutboxRow,
    QuarantineRow,
    SourceStateRow,
    VerdictRow,
    now,
)
from tests.otklik.doubles import AppDaemon

AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
HEAD = Actor(login="head", role="head", via="cli")
CUR = Actor(login="cur", role="curator", via="cli")
EXE = Actor(login="exe", role="executor", department="dorogi", via="cli")
ADMIN = Actor(login="adm", role="admin", via="cli")
PASSWORD = "Sadovaya-yama-42"


def facts(i, dept, *, state="routed", created=AT - timedelta(days=1), answer_by=None, group="Дороги",
          importance="normal") -> CaseFacts:
    return CaseFacts(id=i, state=state, importance=importance, topic_group=group, department=dept,
                     answer_by=answer_by, created_at=created, near_share=0.25)


def test_summary_counts_overdue_and_near_due_by_department_and_today_by_group():
    day_start = datetime(2026, 12, 6, 21, 0, tzinfo=UTC)  # midnight in UTC+3
    rows = [
        facts(1, "dorogi", answer_by=AT - timedelta(minutes=1)),  # overdue
        # a 24 h term with 5 h left: under a quarter left, near due
        facts(2, "dorogi", created=AT - timedelta(hours=19), answer_by=AT + timedelta(hours=5)),
        facts(3, "dorogi", created=AT - timedelta(hours=1), answer_by=AT + timedelta(hours=23)),  # plenty left
        facts(4, "zhkh", answer_by=AT - timedelta(days=2), importance="high", created=AT - timedelta(hours=2),
              group="ЖКХ"),  # overdue, created today
        facts(5, "zhkh", state="published", answer_by=AT - timedelta(days=3)),  # answered: not counted
        facts(6, None, state="identified", created=AT - timedelta(minutes=5), group=None),  # not routed yet
        facts(7, "zhkh", state="closed", created=AT - timedelta(minutes=30), group="ЖКХ"),  # today, closed
    ]
    alerts = [{"id": 1, "kind": "spike"}, {"id": 2, "kind": "overdue"}, {"id": 3, "kind": "overdue"}]
    out = summarize(rows, alerts, at=AT, day_start=day_start, names={"dorogi": "Дороги и транспорт"})
    by = {d["department"]: d for d in out["departments"]}
    assert (by["dorogi"]["open"], by["dorogi"]["overdue"], by["dorogi"]["near_due"]) == (3, 1, 1)
    assert by["dorogi"]["name"] == "Дороги и транспорт" and by["dorogi"]["overdue_cases"] == [1]
    assert by["dorogi"]["near_due_cases"] == [2]
    assert (by["zhkh"]["open"], by["zhkh"]["overdue"], by["zhkh"]["high"]) == (1, 1, 1)
    assert by[dashboard.UNASSIGNED]["open"] == 1
    assert out["totals"] == {"open": 5, "overdue": 2, "near_due": 1, "today": 4}  # 3, 4, 6 and 7
    assert out["today_by_topic_group"] == [{"topic_group": "ЖКХ", "count": 2},
                                           {"topic_group": "Дороги", "count": 1},
                                           {"topic_group": "без темы", "count": 1}]
    assert out["alert_counts"] == {"spike": 1, "overdue": 2}
    assert [d["department"] for d in out["departments"]][:2] == ["dorogi", "zhkh"]  # most overdue first


def test_alert_cases_are_read_from_watcher_and_spike_alerts():
    assert dashboard.alert_cases({"case_id": 7, "step": "answer_by"}) == [7]
    assert dashboard.alert_cases({"message_ids": ["12", "3", "x"]}) == [3, 12]
    assert dashboard.alert_cases(None) == []


def test_dashboard_reads_the_database_in_the_heads_scope(db):
    t = now()
    with db.session() as s:
        ensure_departments(s, ["dorogi", "zhkh"])
        insert_cases(s, [
            Spec(identified=t - timedelta(days=2), departments=("dorogi",), answer_by=t - timedelta(hours=1)),
            Spec(identified=t - timedelta(days=2), departments=("zhkh",), answer_by=t + timedelta(days=5)),
            Spec(identified=t - timedelta(days=9), departments=("zhkh",), state="published",
                 answer_by=t - timedelta(days=8)),
        ], first_id=1)
        s.add(AlertRow(at=t - timedelta(hours=1), kind="overdue", text="просрочен срок", data={"case_id": 1}))
        s.add(AlertRow(at=t - timedelta(days=3), kind="spike", text="старый всплеск", data={}))
        s.add(AlertRow(at=t, kind="auth_failed", text="source tg: token", data={}))  # the admin's, not the head's
    out = services.run(db, lambda s: dashboard.head(s, HEAD, at=t))
    by = {d["department"]: d for d in out["departments"]}
    assert by["dorogi"]["overdue_cases"] == [1] and by["zhkh"]["overdue"] == 0 and by["zhkh"]["open"] == 1
    assert [(a["kind"], a["cases"]) for a in out["alerts"]] == [("overdue", [1])]
    assert services.run(db, lambda s: dashboard.head(s, CUR, at=t))["totals"]["overdue"] == 1
    for who in (EXE, ADMIN):
        with pytest.raises(access.Refused):
            services.run(db, lambda s, who=who: dashboard.head(s, who))
    with db.session() as s:
        refused = s.execute(select(AuditRow).where(AuditRow.action == "refused")).scalars().all()
    assert [(r.actor, r.data["action"]) for r in refused] == [("exe", "read_dashboard"), ("adm", "read_dashboard")]


def test_watcher_alerts_name_their_case(db):
    from otklik.settings import Settings
    from otklik.watcher import DeadlineWatcher

    t = now()
    with db.session() as s:
        ensure_departments(s, ["dorogi"])
        insert_cases(s, [Spec(identified=t - timedelta(days=30), departments=("dorogi",),
                              answer_by=t - timedelta(days=20))], first_id=1)
    # A working Monday noon in the municipality: the overdue event is delivered at once.
    raised = DeadlineWatcher(db, Settings()).scan(at=datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    assert raised >= 1
    with db.session() as s:
        data = [a.data for a in s.execute(select(AlertRow)).scalars()]
    assert data and all(d["case_id"] == 1 for d in data)


@pytest.mark.parametrize(("text", "spans", "expected"), [
    ("ты дурак и <b>", [{"start": 3, "end": 8, "reason": "insult"}],
     [("ты ", None), ("дурак", "insult"), (" и <b>", None)]),
    ("абвгд", [{"start": 0, "end": 3, "reason": "a"}, {"start": 2, "end": 5, "reason": "b"}], [("абвгд", "a")]),
    ("абв", [{"start": 1, "end": 99, "reason": "x"}, {"start": -4, "end": 0, "reason": "y"}],
     [("а", None), ("бв", "x")]),
    ("", [], [("", None)]),
    ("спам", None, [("спам", None)]),
])
def test_segments_cut_the_text_at_the_matched_spans(text, spans, expected):
    got = messages.segments(text, spans)
    assert [(g["text"], g["reason"]) for g in got] == expected
    assert "".join(g["text"] for g in got) == text  # nothing lost, nothing added


def _dropped_message(s, n: int, text: str, spans: list[dict]) -> int:
    msg = MessageRow(source="tg", platform="telegram", external_id=f"d{n}", author_id="5",
                     thread={"kind": "chat", "ids": {"chat_id": 5}}, text=text, created_at=now(), attachments=[],
                     raw={}, processed=True)
    s.add(msg)
    s.flush()
    s.add(VerdictRow(message_id=msg.id, decision="drop", reasons=[spans[0]["reason"]], spans=spans))
    return msg.id


def test_dropped_list_marks_the_spans_and_a_curator_overrules_once(db):
    with db.session() as s:
        mid = _dropped_message(s, 1, "Убирайтесь, идиоты", [{"start": 12, "end": 18, "text": "идиоты",
                                                            "reason": "insult"}])
    listed = services.run(db, lambda s: messages.dropped(s, HEAD))
    assert [(g["text"], g["reason"]) for g in listed[0]["segments"]] == [("Убирайтесь, ", None),
                                                                        ("идиоты", "insult")]
    with pytest.raises(access.Refused):
        services.run(db, lambda s: messages.overrule_drop(s, HEAD, mid))  # the head reads, the curator decides
    with pytest.raises(access.Refused):
        services.run(db, lambda s: messages.dropped(s, EXE))
    services.run(db, lambda s: messages.overrule_drop(s, CUR, mid))
    with db.session() as s:
        msg, verdict = s.get(MessageRow, mid), s.get(VerdictRow, mid)
        assert (msg.processed, verdict.decision, verdict.overruled_by) == (False, "accept", "cur")
        entries = s.execute(select(AuditRow).where(AuditRow.action == "drop_overruled")).scalars().all()
        assert [(e.actor, e.entity_id) for e in entries] == [("cur", str(mid))]
    assert services.run(db, lambda s: messages.dropped(s, CUR)) == []
    with pytest.raises(InvalidTransition):
        services.run(db, lambda s: messages.overrule_drop(s, CUR, mid))


def _delivery(s, case_id: int, status: str) -> str:
    oid = f"o{case_id}{status}"
    draft_id = s.execute(select(DraftRow.id).where(DraftRow.case_id == case_id)).scalar_one()
    s.add(OutboxRow(id=oid, case_id=case_id, draft_id=draft_id, message_id=case_id, source="vk",
                    reply={"text": "Ответ", "platform": "vk"}, status=status, attempts=3, last_error="closed"))
    return oid


def test_troubled_deliveries_and_retry_never_resends_a_posted_reply(db):
    t = now()
    with db.session() as s:
        ensure_departments(s, ["dorogi"])
        insert_cases(s, [Spec(identified=t, submitted=t, approved=t) for _ in range(4)], first_id=1)
        s.flush()
        ids = {st: _delivery(s, i, st) for i, st in enumerate(("parked", "failed", "uncertain", "posted"), 1)}
    out = services.run(db, lambda s: deliveries.troubled(s, CUR))
    assert sorted(d["status"] for d in out["deliveries"]) == ["failed", "parked", "uncertain"]
    assert out["counts"]["posted"] == 1
    with pytest.raises(access.Refused):
        services.run(db, lambda s: deliveries.troubled(s, EXE))
    with pytest.raises(InvalidTransition):
        services.run(db, lambda s: deliveries.retry(s, CUR, ids["posted"]))
    console = Actor(login="cur", role="curator", via="console", second_factor_at=t - timedelta(hours=1))
    with pytest.raises(access.StepUpRequired):
        services.run(db, lambda s: deliveries.retry(s, console, ids["parked"]))
    fresh = Actor(login="cur", role="curator", via="console", second_factor_at=now())
    assert services.run(db, lambda s: deliveries.retry(s, fresh, ids["parked"]))["status"] == "pending"
    with db.session() as s:
        assert s.get(OutboxRow, ids["posted"]).status == "posted"


def test_sources_health_merges_settings_poller_state_and_quarantine(db):
    with db.session() as s:
        s.add(SourceStateRow(source="vk_main", status="auth_failed", last_error="token revoked", failures=1))
        quarantine.add(s, source="tg_main", stage="ingest", reason="ValidationError", raw={"rejected": {}})
        old = QuarantineRow(source="old_src", stage="ingest", reason="X", raw={}, created_at=now() - timedelta(days=2))
        s.add(old)
    configured = [SimpleNamespace(name="vk_main", platform="vk", enabled=True),
                  SimpleNamespace(name="tg_main", platform="telegram", enabled=True),
                  SimpleNamespace(name="ok_off", platform="ok", enabled=False)]
    rows = services.run(db, lambda s: sources.health(s, ADMIN, configured))
    by = {r["source"]: r for r in rows}
    assert by["vk_main"]["status"] == "auth_failed" and by["vk_main"]["last_error"] == "token revoked"
    assert (by["tg_main"]["status"], by["tg_main"]["quarantined"], by["tg_main"]["quarantine_open"]) == \
        ("degraded", 1, 1)
    assert by["ok_off"]["status"] == "disabled"
    assert (by["old_src"]["configured"], by["old_src"]["quarantine_open"], by["old_src"]["quarantined"]) == \
        (False, 1, 0)
    assert rows[0]["source"] == "vk_main"  # the troubled first
    with pytest.raises(access.Refused):
        services.run(db, lambda s: sources.health(s, HEAD, configured))


@pytest.fixture
async def api(db):
    logins = {}
    with db.session() as s:
        ensure_departments(s, ["dorogi"])
        for login, role, dept in (("head", "head", None), ("exe", "executor", "dorogi"), ("adm", "admin", None),
                                  ("cur", "curator", None)):
            _, _, logins[login] = auth.create_user(s, login, role, password=PASSWORD, department=dept)
    async with TestClient(TestServer(http.build_app(AppDaemon(db)))) as c:
        c.h = {}
        for login, secret in logins.items():
            body = {"login": login, "password": PASSWORD, "otp": pyotp.TOTP(secret).now() if secret else None}
            r = await c.post("/api/login", json=body)
            assert r.status == 200, await r.text()
            c.h[login] = {"Authorization": f"Bearer {(await r.json())['token']}"}
        yield c


async def test_api_answers_the_overviews_to_their_roles_only(api):
    allowed = {"/api/dashboard": ("head", "cur"), "/api/sources": ("adm", "cur"), "/api/users": ("adm",)}
    for path, who in allowed.items():
        for login, headers in api.h.items():
            r = await api.get(path, headers=headers)
            assert r.status == (200 if login in who else 403), (path, login, await r.text())
    listing = (await (await api.get("/api/users", headers=api.h["adm"])).json())["users"]
    assert {u["login"]: (u["role"], u["two_factor"]) for u in listing}["exe"] == ("executor", False)
    assert all("password_hash" not in u and "totp_secret" not in u for u in listing)
    r = await api.get("/api/dashboard")
    assert r.status == 401
    spec = await (await api.get("/api/openapi.json")).json()
    assert {"/api/dashboard", "/api/sources", "/api/users"} <= set(spec["paths"])


def test_users_listing_is_the_admins(db):
    with db.session() as s:
        auth.create_user(s, "exe", "executor", password=PASSWORD)
    assert [u["login"] for u in services.run(db, lambda s: users.listing(s, ADMIN))] == ["exe"]
    with pytest.raises(access.Refused):
        services.run(db, lambda s: users.listing(s, CUR))


def test_case_list_puts_the_nearest_deadline_first_and_none_last(db):
    from otklik.services import cases

    t = now()
    with db.session() as s:
        ensure_departments(s, ["dorogi"])
        insert_cases(s, [Spec(identified=t, answer_by=None), Spec(identified=t, answer_by=t + timedelta(days=2)),
                         Spec(identified=t, answer_by=t - timedelta(hours=1)),
                         Spec(identified=t, answer_by=t + timedelta(hours=3))], first_id=1)
    ids = [r["id"] for r in services.run(db, lambda s: cases.listing(s, CUR))]
    assert ids == [3, 4, 2, 1]
