"""Scoped access, walked through the API as real users: two departments, every role, substitutes
within and outside their dates. Out of scope answers 404 exactly as a missing case; a role refusal
answers 403; both are on the audit record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from otklik import http
from otklik.actor import Actor
from otklik.api import auth
from otklik.services import access, cases, substitutes, users
from router.classifier import Router
from storage.tables import AuditRow, CaseAssignmentRow, CaseRow, DraftRow, MessageRow
from tests.otklik.doubles import AppDaemon

PASSWORD = "Sadovaya-yama-42"  # passes the password rules

CUR = Actor(login="cur", role="curator", via="cli")
ADMIN = Actor(login="adm", role="admin", via="cli")
TEXT = "Здравствуйте! Яму на Садовой засыплем до пятницы, спасибо за сообщение."
_ids = iter(range(1, 10**6))


def open_case(s, *, profile: str = "severny", channel: str = "social") -> int:
    n = next(_ids)
    msg = MessageRow(source="tg", platform="telegram", external_id=f"{n}:1", author_id="9", author_name="Анна",
                     thread={"kind": "chat", "ids": {"chat_id": n, "message_id": 1}}, text="Яма на Садовой",
                     created_at=datetime.now(UTC), attachments=[], raw={}, processed=True)
    s.add(msg)
    s.flush()
    routing = Router.load().route(msg.text).model_copy(update={"needs_manual": True})
    return cases.open_or_update(s, msg, routing, channel=channel, profile_name=profile).id


def people(s) -> dict[str, str | None]:
    """Every role; returns each login's TOTP secret (None without a second factor)."""
    secrets: dict[str, str | None] = {}
    for login, role, dept in (("cur", "curator", None), ("exe_a", "executor", "dorogi"),
                              ("exe_b", "executor", "zhkh"), ("co", "executor", "ekologiya"),
                              ("appr", "approver", None), ("head", "head", None), ("adm", "admin", None),
                              ("adm_appr", "admin", None), ("sub_now", "executor", "kultura"),
                              ("sub_later", "executor", "kultura")):
        _, _, secrets[login] = auth.create_user(s, login, role, password=PASSWORD, department=dept)
    users.set_roles(s, ADMIN, "adm_appr", ["approver"])
    today = access.local_today()
    substitutes.add(s, ADMIN, "exe_a", "sub_now", today - timedelta(days=1), today + timedelta(days=1))
    substitutes.add(s, ADMIN, "exe_a", "sub_later", today + timedelta(days=10), today + timedelta(days=20))
    return secrets


@pytest.fixture
async def world(db):
    """Case A with roads (dorogi), B with housing (zhkh), C with roads responsible and ecology as
    co-executor (ПОС: the first is responsible), H was with roads and is with housing now, N is
    not routed."""
    with db.session() as s:
        secrets = people(s)
        ids = {k: open_case(s) for k in "ABHN"}
        ids["C"] = open_case(s, channel="pos")
        cases.route(s, CUR, ids["A"], executors=["dorogi"])
        cases.route(s, CUR, ids["B"], executors=["zhkh"])
        cases.route(s, CUR, ids["C"], executors=["dorogi", "ekologiya"])
        cases.route(s, CUR, ids["H"], executors=["dorogi"])
        cases.route(s, CUR, ids["H"], executors=["zhkh"])
    async with TestClient(TestServer(http.build_app(AppDaemon(db)))) as c:
        c.h = {}
        for login, secret in secrets.items():
            body = {"login": login, "password": PASSWORD, "otp": pyotp.TOTP(secret).now() if secret else None}
            r = await c.post("/api/login", json=body)
            assert r.status == 200, await r.text()
            c.h[login] = {"Authorization": f"Bearer {(await r.json())['token']}"}
        c.ids = ids
        yield c


async def listed(c, login: str, **params) -> set[str] | int:
    r = await c.get("/api/cases", headers=c.h[login], params=params)
    if r.status != 200:
        return r.status
    by_id = {v: k for k, v in c.ids.items()}
    return {by_id[row["id"]] for row in (await r.json())["cases"]}


async def test_each_role_lists_its_scope(world):
    c = world
    assert await listed(c, "exe_a") == {"A", "C", "H"}  # H: roads had it earlier
    assert await listed(c, "exe_b") == {"B", "H"}
    assert await listed(c, "co") == {"C"}
    for login in ("cur", "appr", "head", "adm_appr"):
        assert await listed(c, login) == set("ABCHN"), login
    assert await listed(c, "adm") == 403  # the admin runs the directory, not the cases
    assert await listed(c, "sub_now") == {"A", "C", "H"}  # stands in for roads today
    assert await listed(c, "sub_later") == set()  # not yet
    # The executor filter narrows to what a department holds now; it never widens the scope.
    assert await listed(c, "exe_a", executor="zhkh") == {"H"}
    assert await listed(c, "exe_b", executor="dorogi") == set()
    assert await listed(c, "cur", executor="dorogi") == {"A", "C"}


async def test_out_of_scope_is_not_found_and_audited(world, db):
    c = world
    a = c.ids["A"]
    missing = await c.get("/api/cases/999999", headers=c.h["exe_b"])
    hidden = await c.get(f"/api/cases/{a}", headers=c.h["exe_b"])
    assert (missing.status, hidden.status) == (404, 404)
    assert (await hidden.json())["error"] == f"no case {a}"  # the same sentence as for a missing one
    for path, body in (("audit", None), ("drafts", {"text": TEXT}), ("return", {"comment": "Не наше"}),
                       ("extension", {"days": 2, "comment": "Нужен подрядчик"})):
        call = c.get if body is None else c.post
        r = await call(f"/api/cases/{a}/{path}", headers=c.h["exe_b"], **({"json": body} if body else {}))
        assert r.status == 404, (path, await r.text())
    for login in ("sub_later", "co"):
        assert (await c.get(f"/api/cases/{a}", headers=c.h[login])).status == 404
    with db.session() as s:
        assert s.get(CaseRow, a).state == "routed" and s.query(DraftRow).filter_by(case_id=a).count() == 0
        refused = [(r.actor, r.data["action"], r.data["reason"]) for r in
                   s.query(AuditRow).filter_by(action="refused", entity="case", entity_id=str(a)).order_by(AuditRow.id)]
    assert refused == [("exe_b", "read", "scope"), ("exe_b", "read", "scope"), ("exe_b", "submit_draft", "scope"),
                       ("exe_b", "return", "scope"), ("exe_b", "request_extension", "scope"),
                       ("sub_later", "read", "scope"), ("co", "read", "scope")]


async def test_role_refusals_are_forbidden_and_audited(world, db):
    c = world
    a, n = c.ids["A"], c.ids["N"]
    assert (await c.post(f"/api/cases/{a}/drafts", headers=c.h["exe_a"], json={"text": TEXT})).status == 201
    for login in ("exe_a", "adm", "head"):  # severny: the curator approves, or a designated approver
        r = await c.post(f"/api/cases/{a}/approve", headers=c.h[login])
        assert r.status == 403, login
    for login in ("exe_a", "exe_b", "adm", "appr"):
        r = await c.post(f"/api/cases/{n}/route", headers=c.h[login], json={"executors": ["dorogi"]})
        assert r.status == 403, login  # only the curator routes; said before the case is looked at
    assert (await c.get("/api/substitutes", headers=c.h["cur"])).status == 403
    r = await c.post(f"/api/cases/{a}/approve", headers=c.h["adm_appr"])  # the admin who is also an approver
    assert r.status == 200, await r.text()
    with db.session() as s:
        refused = [(r.actor, r.data["action"], r.entity_id) for r in
                   s.query(AuditRow).filter_by(action="refused").order_by(AuditRow.id)]
        approved_by = s.query(DraftRow).filter_by(case_id=a).one().decided_by
    assert refused == [("exe_a", "approve", str(a)), ("adm", "approve", str(a)), ("head", "approve", str(a)),
                       *((who, "route", str(n)) for who in ("exe_a", "exe_b", "adm", "appr")),
                       ("cur", "manage_directory", "-")]
    assert approved_by == "adm_appr"


async def test_executors_act_only_on_what_their_department_holds_now(world, db):
    c = world
    ids = c.ids
    # Roads had H earlier: it may read it, not change it.
    assert (await c.get(f"/api/cases/{ids['H']}", headers=c.h["exe_a"])).status == 200
    r = await c.post(f"/api/cases/{ids['H']}/drafts", headers=c.h["exe_a"], json={"text": TEXT})
    assert r.status == 403 and "not with your department" in (await r.json())["error"]
    # The co-executor works on C; the substitute works for roads today, the later one does not.
    r = await c.post(f"/api/cases/{ids['C']}/drafts", headers=c.h["co"], json={"text": TEXT})
    assert r.status == 201, await r.text()
    r = await c.post(f"/api/cases/{ids['A']}/drafts", headers=c.h["sub_now"], json={"text": TEXT})
    assert r.status == 201, await r.text()
    assert (await c.post(f"/api/cases/{ids['A']}/drafts", headers=c.h["sub_later"],
                         json={"text": TEXT})).status == 404
    # Housing returns B: it leaves housing's hands, the history keeps it, the curator re-routes.
    r = await c.post(f"/api/cases/{ids['B']}/return", headers=c.h["exe_b"], json={"comment": "Это дороги"})
    assert r.status == 200 and (await r.json())["state"] == "returned"
    assert (await c.post(f"/api/cases/{ids['B']}/drafts", headers=c.h["exe_b"], json={"text": TEXT})).status == 403
    assert (await c.post(f"/api/cases/{ids['B']}/route", headers=c.h["cur"],
                         json={"executors": ["dorogi"]})).status == 200
    shown = await (await c.get(f"/api/cases/{ids['B']}", headers=c.h["exe_a"])).json()
    assert [(a["department"], a["unassigned_at"] is None) for a in shown["assignments"]] == \
        [("zhkh", False), ("dorogi", True)]
    with db.session() as s:
        returned = s.get(CaseRow, ids["B"]).record["returns"][0]
    assert returned["department"] == "zhkh"


async def test_admin_runs_departments_and_substitutes(world, db):
    c = world
    adm = c.h["adm"]
    r = await c.post("/api/departments", headers=adm, json={"id": "arkhiv", "name": "Архивный отдел"})
    assert r.status == 201
    assert (await c.post("/api/departments", headers=adm, json={"id": "arkhiv", "name": "x"})).status == 409
    assert (await c.post("/api/departments", headers=adm, json={"id": "Архив", "name": "x"})).status == 409
    deps = (await (await c.get("/api/departments", headers=adm)).json())["departments"]
    assert {"id": "arkhiv", "name": "Архивный отдел"} in deps and any(d["id"] == "dorogi" for d in deps)
    assert (await c.post("/api/departments", headers=c.h["cur"], json={"id": "x", "name": "x"})).status == 403
    body = {"absent": "exe_b", "substitute": "exe_a", "from": "2026-12-01", "to": "2026-12-31", "reason": "illness"}
    r = await c.post("/api/substitutes", headers=adm, json=body)
    assert r.status == 201
    sub_id = (await r.json())["id"]
    bad = {**body, "from": "2026-12-31", "to": "2026-12-01"}
    assert (await c.post("/api/substitutes", headers=adm, json=bad)).status == 409
    assert (await c.post("/api/substitutes", headers=adm, json={**body, "from": "вчера"})).status == 400
    listing = (await (await c.get("/api/substitutes", headers=adm)).json())["substitutes"]
    assert {"absent": "exe_b", "substitute": "exe_a", "from": "2026-12-01", "to": "2026-12-31",
            "reason": "illness", "id": sub_id} in listing
    assert (await c.delete(f"/api/substitutes/{sub_id}", headers=c.h["appr"])).status == 403
    assert (await c.delete(f"/api/substitutes/{sub_id}", headers=adm)).status == 200
    assert (await c.delete(f"/api/substitutes/{sub_id}", headers=adm)).status == 404
    with db.session() as s:
        done = [(a.actor, a.action) for a in s.query(AuditRow).filter(
            AuditRow.entity.in_(("department", "substitute"))).order_by(AuditRow.id)]
    assert done[2:] == [("adm", "department_added"), ("cur", "refused"), ("adm", "substitute_added"),
                        ("appr", "refused"), ("adm", "substitute_removed")]  # after the fixture's two


def test_step_up_needs_a_fresh_second_factor():
    now = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    window = timedelta(seconds=300)
    fresh = Actor(login="a", role="approver", second_factor_at=now - timedelta(seconds=299))
    access.require_fresh_second_factor(fresh, now, window)
    for stale in (Actor(login="a", role="approver", second_factor_at=now - timedelta(seconds=301)),
                  Actor(login="a", role="approver", via="console"),
                  Actor(login="a", role="approver", second_factor_at=None)):
        with pytest.raises(access.StepUpRequired):
            access.require_fresh_second_factor(stale, now, window)
    # The CLI asks for the code with every command; the daemon's own parts have no second factor.
    access.require_fresh_second_factor(Actor(login="a", role="approver", via="cli"), now, window)
    access.require_fresh_second_factor(Actor(login="worker", role="system", via="system"), now, window)
    assert access.step_up_window() == timedelta(seconds=300)


def test_approving_through_the_api_without_a_fresh_factor_is_refused_and_audited(db):
    from otklik import services

    with db.session() as s:
        case_id = open_case(s)
        cases.route(s, CUR, case_id, executors=["dorogi"])
        cases.submit_draft(s, CUR, case_id, text=TEXT)
    stale = Actor(login="cur", role="curator", second_factor_at=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(access.StepUpRequired):
        services.run(db, lambda s: cases.approve(s, stale, case_id))
    fresh = Actor(login="cur", role="curator", second_factor_at=datetime.now(UTC))
    services.run(db, lambda s: cases.approve(s, fresh, case_id))
    with db.session() as s:
        assert [(a.data["reason"]) for a in s.query(AuditRow).filter_by(action="refused")] == ["step_up"]
        assert s.get(CaseRow, case_id).state == "approved"


def test_assignment_history_follows_route_reroute_and_return(db):
    with db.session() as s:
        case_id = open_case(s, channel="pos")
        cases.route(s, CUR, case_id, executors=["dorogi", "ekologiya"])
        cases.route(s, CUR, case_id, executors=["ekologiya", "zhkh"])
        cases.return_case(s, CUR, case_id, comment="Не наша компетенция")
        rows = s.query(CaseAssignmentRow).filter_by(case_id=case_id).order_by(CaseAssignmentRow.id).all()
    # dorogi responsible, then ekologiya co -> responsible (a new row for the new role), zhkh co; all
    # closed by the return.
    assert [(r.department, r.role) for r in rows] == [
        ("dorogi", "responsible"), ("ekologiya", "co"), ("ekologiya", "responsible"), ("zhkh", "co")]
    assert all(r.unassigned_at is not None for r in rows)
    assert rows[0].unassigned_at == rows[2].assigned_at


def test_actor_roles():
    a = Actor(login="x", role="admin", roles=frozenset({"approver"}))
    assert a.has("admin") and a.has("approver") and not a.has("curator")
    assert Actor(login="y", role="executor").roles == {"executor"}


async def test_municipal_lists_follow_the_same_rules(world):
    c = world
    expected = {"/api/messages/dropped": {"cur", "head"}, "/api/alerts": {"cur", "head"},
                "/api/deliveries": {"cur"}, "/api/departments": {"adm", "adm_appr"},
                "/api/substitutes": {"adm", "adm_appr"}}
    for path, allowed in expected.items():
        for login in ("cur", "exe_a", "co", "appr", "head", "adm", "adm_appr", "sub_now"):
            status = (await c.get(path, headers=c.h[login])).status
            assert status == (200 if login in allowed else 403), (path, login, status)
    r = await c.post("/api/deliveries/nope/retry", headers=c.h["exe_a"])
    assert r.status == 403
    assert (await c.post("/api/deliveries/nope/retry", headers=c.h["cur"])).status == 404
