"""Reports on a seeded database (SQLite, and PostgreSQL with DATABASE_URL), checked against counts
made here independently: by SQL and by hand on a handful of cases; the formats read back; the
schedule fires once per period across a restart and the XLSX arrives by e-mail; an executor's
report covers its department only, on the CLI's path and through the API."""

from __future__ import annotations

import csv
import io
import json
import statistics
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pyotp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select, text

from otklik import http
from otklik.actor import Actor
from otklik.api import auth
from otklik.mail import MailSettings
from otklik.reporter import ReportScheduler, due
from otklik.services import users
from otklik.settings import Settings
from regulation.profiles import load_profile
from reports.produce import render, report
from reports.sample import Spec, ensure_departments, insert_cases
from storage.tables import CaseAssignmentRow, CaseRow, ReportRunRow, UserRow

PROFILE = "severny"
TZ = ZoneInfo("Asia/Novosibirsk")
FIRST, LAST = date(2026, 11, 2), date(2026, 11, 15)
HEAD = Actor(login="head", role="head", via="cli")
ROADS = Actor(login="exe_r", role="executor", department="dorogi", via="cli")
HOUSING = Actor(login="exe_h", role="executor", department="zhkh", via="cli")
PASSWORD = "Sadovaya-yama-42"


def t(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def specs() -> list[Spec]:
    return [
        # A: answered on time, rated 5, with photos
        Spec(t(2, 10), source="vk", departments=("dorogi",), state="published", answer_by=t(5, 18),
             routed=t(2, 11), submitted=t(3, 10), approved=t(3, 12), published=t(3, 12, 30), outcome="solved",
             ratings=(5,), photos=True, engagement=40, places=("Заречье",)),
        # B: answered late, two drafts sent back, flagged
        Spec(t(3, 9, 30), source="tg", departments=("zhkh",), state="published", answer_by=t(4, 18),
             routed=t(3, 10), submitted=t(5, 15), approved=t(6, 9), published=t(6, 10), outcome="explained",
             returned_drafts=2, flags=("no_greeting", "bureaucratese"), topic_group="ЖКХ", topic="Отопление",
             engagement=300, ratings=(2,), reopened=1),
        # C: open past its deadline
        Spec(t(10, 10), source="vk", departments=("dorogi",), state="drafting", answer_by=t(11, 10), routed=t(10, 12)),
        # D: open, deadline after the period
        Spec(t(12, 14), source="ok", departments=("zhkh",), state="routed", answer_by=t(20, 18),
             topic_group="ЖКХ", topic="Вода", places=("Заречье",)),
        # E: closed unanswered, a repeat; roads had it, housing too (co)
        Spec(t(14, 16), source="vk", departments=("dorogi", "zhkh"), state="closed", answer_by=t(17, 18),
             repeat_of=1),
        # F: before the period (the previous one)
        Spec(t(30, 10, month=10), source="vk", departments=("dorogi",), state="routed", answer_by=t(2, 18)),
    ]


DROPPED = [(t(4, 12), ["abuse"], False), (t(5, 12), ["spam", "abuse"], False), (t(6, 12), ["abuse"], True)]


@pytest.fixture
def seeded(db):
    with db.session() as s:
        ensure_departments(s, ["dorogi", "zhkh"])
        ids = insert_cases(s, specs(), profile=PROFILE, dropped=DROPPED)
    return dict(zip("ABCDEF", ids, strict=True))


def rows(rep, section: str, table: str) -> dict[str, dict]:
    sec = next(x for x in rep["sections"] if x["key"] == section)
    tab = next(x for x in sec["tables"] if x["key"] == table)
    return {str(r.get("name", r.get("date", r.get("case")))): r for r in tab["rows"]}


def make(db, actor=HEAD, **kw):
    with db.session() as s:
        return report(s, actor, PROFILE, FIRST, LAST, **kw)


def test_timeliness_against_independent_counts(db, seeded):
    rep = make(db)
    total = rows(rep, "timeliness", "total")["Всего"]
    start, end = datetime(2026, 11, 2, tzinfo=TZ), datetime(2026, 11, 16, tzinfo=TZ)
    with db.session() as s:  # by SQL, not through the report's code
        received = s.execute(select(func.count()).select_from(CaseRow).where(
            CaseRow.created_at >= start, CaseRow.created_at < end)).scalar_one()
        per_dept = dict(s.execute(select(CaseAssignmentRow.department, func.count(func.distinct(CaseRow.id)))
                                  .join(CaseRow, CaseRow.id == CaseAssignmentRow.case_id)
                                  .where(CaseRow.created_at >= start, CaseRow.created_at < end)
                                  .group_by(CaseAssignmentRow.department)).all())
    assert total["received"] == received == 5
    assert (total["answered_on_time"], total["answered_late"], total["open_overdue"], total["not_processed"]) == (1, 1, 1, 1)
    assert total["cases"]["answered_late"] == [seeded["B"]]
    assert total["cases"]["open_overdue"] == [seeded["C"]]
    depts = rows(rep, "timeliness", "by_department")
    assert {d: depts[d]["received"] for d in per_dept} == per_dept == {"dorogi": 3, "zhkh": 3}
    # working hours by the profile's calendar, computed here with the calendar's own walk
    cal = load_profile(PROFILE).calendar
    answered = [(t(2, 10), t(3, 12, 30)), (t(3, 9, 30), t(6, 10))]
    hours = [cal.working_between(a, b).total_seconds() / 3600 for a, b in answered]
    assert total["median_hours"] == round(statistics.median(hours), 2)
    assert hours[0] == 10.5  # 10–13 and 14–18 on the 2nd (7), 9–12:30 on the 3rd (3.5)
    routing = [cal.working_between(a, b).total_seconds() / 3600 for a, b in
               ((t(2, 10), t(2, 11)), (t(3, 9, 30), t(3, 10)), (t(10, 10), t(10, 12)))]
    assert total["routing_median_hours"] == round(statistics.median(routing), 2) == 1.0
    assert rows(rep, "timeliness", "by_source")["vk"]["received"] == 3
    meta = rep["meta"]
    assert (meta["timezone"], meta["profile"], meta["from"], meta["to"]) == ("Asia/Novosibirsk", PROFILE, FIRST, LAST)
    assert "open_overdue" in meta["definitions"]


def test_quality_outcomes_dynamics_top_moderation(db, seeded):
    rep = make(db)
    q = rows(rep, "quality", "summary")
    assert q["Проектов возвращено на доработку"]["value"] == 2
    assert q["Ответов с фотографиями"]["cases"]["value"] == [seeded["A"]]
    assert {k: v["count"] for k, v in rows(rep, "quality", "flags").items()} == {"bureaucratese": 1, "no_greeting": 1}
    assert {k: v["count"] for k, v in rows(rep, "outcomes", "by_outcome").items()} == {"explained": 1, "solved": 1}
    o = rows(rep, "outcomes", "summary")
    assert o["Средняя оценка"]["value"] == 3.5
    assert o["Повторных обращений"]["cases"]["value"] == [seeded["E"]]
    assert o["Доля повторных, %"]["value"] == 20.0
    assert o["Возвращено на доработку гражданином/площадкой"]["value"] == 1
    change = rows(rep, "dynamics", "change")["Всего"]
    assert (change["count"], change["previous"], change["change"], change["change_pct"]) == (5, 1, 4, 400.0)
    per_day = rows(rep, "dynamics", "per_day")
    assert len(per_day) == 14 and per_day["2026-11-02"]["count"] == 1 and per_day["2026-11-04"]["count"] == 0
    assert rows(rep, "top", "places")["Заречье"]["count"] == 2
    assert next(iter(rows(rep, "top", "messages").values()))["case"] == seeded["B"]  # the most engagement
    m = rows(rep, "moderation", "by_reason")
    assert {k: v["count"] for k, v in m.items()} == {"abuse": 2, "spam": 1}
    assert rows(rep, "moderation", "summary")["Решение отменено куратором"]["value"] == 1


def test_an_executor_report_covers_its_department_only(db, seeded):
    rep = make(db, HOUSING)
    total = rows(rep, "timeliness", "total")["Всего"]
    assert total["cases"]["received"] == sorted([seeded["B"], seeded["D"], seeded["E"]])
    assert "moderation" not in [x["key"] for x in rep["sections"]]  # dropped messages are the curator's and head's
    assert rep["meta"]["scope"] == "подразделение zhkh"
    # The drafts and replies are read by case id ranges that hold A (roads' only, with photos) too:
    # what is not in scope stays out of every figure.
    q = rows(rep, "quality", "summary")
    assert q["Ответов с фотографиями"]["value"] == 0 and q["Проектов возвращено на доработку"]["value"] == 2
    roads = make(db, ROADS)
    assert rows(roads, "quality", "summary")["Ответов с фотографиями"]["cases"]["value"] == [seeded["A"]]
    assert rows(roads, "quality", "flags") == {} and rows(roads, "top", "places")["Заречье"]["count"] == 1
    # asking for another department gives only what it had AND is in scope
    other = rows(make(db, HOUSING, department="dorogi"), "timeliness", "total")["Всего"]
    assert other["cases"]["received"] == [seeded["E"]]
    assert rows(make(db, source="tg"), "timeliness", "total")["Всего"]["received"] == 1


def test_xlsx_numbers_are_numbers_and_dates_are_dates(db, seeded):
    wb = openpyxl.load_workbook(io.BytesIO(render(make(db), "xlsx")))
    assert wb.sheetnames[:3] == ["Параметры", "Своевременность", "Качество"]
    params = {r[0]: r[1] for r in wb["Параметры"].iter_rows(values_only=True) if r and r[0]}
    assert params["Период с"] == datetime(2026, 11, 2) and params["Часовой пояс"] == "Asia/Novosibirsk"
    sheet = list(wb["Своевременность"].iter_rows(values_only=True))
    header = sheet[1]
    total = dict(zip(header, sheet[2], strict=False))
    assert total["Поступило"] == 5 and isinstance(total["Поступило"], int)
    assert total["Медиана, раб. ч"] == 13.0 and isinstance(total["Медиана, раб. ч"], int | float)
    days = [r for r in wb["Динамика"].iter_rows(values_only=True) if r and isinstance(r[0], datetime)]
    assert days[0][0] == datetime(2026, 11, 2) and isinstance(days[0][1], int)


def test_csv_json_html_shapes(db, seeded):
    rep = make(db)
    lines = list(csv.reader(io.StringIO(render(rep, "csv").decode("utf-8-sig"))))
    assert lines[0] == ["section", "table", "row", "measure", "value"]
    assert ["timeliness", "total", "Всего", "received", "5"] in lines
    # the period, zone, profile and definitions travel with the figures
    assert ["meta", "parameters", "from", "value", "2026-11-02"] in lines
    assert ["meta", "parameters", "timezone", "value", "Asia/Novosibirsk"] in lines
    assert ["meta", "parameters", "profile", "value", PROFILE] in lines
    defined = {r[2] for r in lines if r[:2] == ["meta", "definitions"]}
    assert {"received", "open_overdue", "top_places", "moderation"} <= defined
    data = json.loads(render(rep, "json"))
    assert data["meta"]["from"] == "2026-11-02" and data["sections"][0]["tables"][0]["rows"][0]["received"] == 5
    page = render(rep, "html").decode()
    assert "<svg" in page and "<script" not in page and "http" not in page.replace("http://www.w3.org/2000/svg", "")
    assert f'href="/api/cases/{seeded["C"]}"' in page  # drill-down to the overdue case
    assert "Своевременность" in page and "Определения показателей" in page


def test_html_escapes_stored_text(db):
    with db.session() as s:
        ensure_departments(s, ["dorogi"])
        insert_cases(s, [Spec(t(3, 10), topic="<script>alert(1)</script>")], profile=PROFILE)
    page = render(make(db), "html").decode()
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_bad_period_is_a_clear_error(db):
    from reports.period import BadPeriod

    with pytest.raises(BadPeriod, match="before it starts"), db.session() as s:
        report(s, HEAD, PROFILE, LAST, FIRST)


# -- the schedule ------------------------------------------------------------------------------

def test_what_each_profile_owes():
    owed = {d.kind: d for d in due(load_profile("sobolevo"), date(2026, 10, 1))}
    assert owed["periodic:quarter"].period == "2026-Q3"
    assert (owed["periodic:quarter"].first, owed["periodic:quarter"].last) == (date(2026, 7, 1), date(2026, 9, 30))
    week = {d.kind: d for d in due(load_profile("tashtagol"), date(2026, 12, 9))}["periodic:week"]
    assert (week.first, week.last) == (date(2026, 11, 30), date(2026, 12, 6))
    z = {d.kind: d for d in due(load_profile("zarechny"), date(2026, 12, 7))}
    assert z["periodic:month"].period == "2026-11" and "overdue" in z


async def test_schedule_fires_once_per_period_across_a_restart_and_mails_the_xlsx(db, smtp_server):
    inbox, mail_settings = smtp_server
    with db.session() as s:
        ensure_departments(s, ["dorogi"])
        insert_cases(s, [Spec(datetime(2026, 11, d, 10, tzinfo=ZoneInfo("Europe/Moscow")),
                              answer_by=datetime(2026, 11, d, 18, tzinfo=ZoneInfo("Europe/Moscow")))
                         for d in (3, 4, 5)], profile="zarechny")
        auth.create_user(s, "head", "head", password=PASSWORD)
        auth.create_user(s, "head2", "head", password=PASSWORD)  # no address: gets no mail
        users.set_email(s, Actor(login="adm", role="admin", via="cli"), "head", "glava@adm.example")
    settings = Settings(profile="zarechny", mail=mail_settings)
    at = datetime(2026, 12, 7, 9, 30, tzinfo=ZoneInfo("Europe/Moscow"))  # a Monday
    done = await ReportScheduler(db, settings).run_due(at)
    assert {d.kind for d in done} == {"periodic:month", "overdue"}
    assert await ReportScheduler(db, settings).run_due(at) == []  # restarted: nothing again
    assert await ReportScheduler(db, settings).run_due(at + timedelta(hours=5)) == []
    with db.session() as s:
        runs = s.execute(select(ReportRunRow.kind, ReportRunRow.period, ReportRunRow.recipients)).all()
    assert sorted((k, p) for k, p, _ in runs) == [("overdue", "2026-12-07"), ("periodic:month", "2026-11")]
    assert all(r == ["glava@adm.example"] for _, _, r in runs)
    monthly = [m for m in inbox.messages if any(True for _ in m.iter_attachments())]
    assert len(monthly) == 1 and len(inbox.messages) == 2
    [att] = list(monthly[0].iter_attachments())
    assert att.get_filename() == "otchet-2026-11.xlsx"
    wb = openpyxl.load_workbook(io.BytesIO(att.get_content()))
    sheet = list(wb["Своевременность"].iter_rows(values_only=True))
    assert dict(zip(sheet[1], sheet[2], strict=False))["Поступило"] == 3
    assert "Поступило 3" in monthly[0].get_body(("plain",)).get_content()
    with db.session() as s:  # the summary waits for the notifier as an alert
        kinds = [k for (k,) in s.execute(text("SELECT kind FROM alerts"))]
    assert sorted(kinds) == ["overdue_report", "report"]
    # the next month's report is a new period
    done = await ReportScheduler(db, settings).run_due(datetime(2027, 1, 2, 10, tzinfo=ZoneInfo("Europe/Moscow")))
    assert [d.period for d in done if d.kind == "periodic:month"] == ["2026-12"]


@pytest.fixture
def smtp_server():
    import socket

    from aiosmtpd.controller import Controller

    from tests.otklik.test_mail import Inbox

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    yield inbox, MailSettings(host="127.0.0.1", port=port, sender="otklik@adm.example")
    ctl.stop()


# -- the API -----------------------------------------------------------------------------------

class FakeDaemon:
    def __init__(self, db):
        import asyncio

        self.db, self.connectors, self.relay, self.pipeline = db, {}, None, None
        self.wake_pipeline = asyncio.Event()
        self.settings = Settings(profile=PROFILE)


async def test_api_reports_and_stats_in_the_callers_scope(db, seeded):
    with db.session() as s:
        secrets = {}
        for login, role, dept in (("head", "head", None), ("exe_h", "executor", "zhkh"), ("adm", "admin", None)):
            _, _, secrets[login] = auth.create_user(s, login, role, password=PASSWORD, department=dept)
    async with TestClient(TestServer(http.build_app(FakeDaemon(db)))) as c:
        h = {}
        for login, secret in secrets.items():
            r = await c.post("/api/login", json={"login": login, "password": PASSWORD,
                                                 "otp": pyotp.TOTP(secret).now() if secret else None})
            h[login] = {"Authorization": f"Bearer {(await r.json())['token']}"}
        period = {"from": FIRST.isoformat(), "to": LAST.isoformat()}
        r = await c.get("/api/reports", params={**period, "format": "xlsx"}, headers=h["head"])
        assert r.status == 200 and "attachment" in r.headers["Content-Disposition"]
        wb = openpyxl.load_workbook(io.BytesIO(await r.read()))
        assert "Модерация" in wb.sheetnames
        r = await c.get("/api/reports", params={**period, "format": "json"}, headers=h["exe_h"])
        body = await r.json()
        assert body["sections"][0]["tables"][0]["rows"][0]["received"] == 3
        r = await c.get("/api/stats", params=period, headers=h["head"])
        stats = await r.json()
        assert (stats["received"], stats["answered_late"], stats["open_overdue"]) == (5, 1, 1)
        r = await c.get("/api/stats", params=period, headers=h["exe_h"])
        assert (await r.json())["received"] == 3
        assert (await c.get("/api/stats")).status == 401
        for bad in ({"from": "2026-13-01", "to": "2026-11-02"}, {**period, "format": "pdf"},
                    {"from": "2026-11-05", "to": "2026-11-01"}):
            r = await c.get("/api/reports", params=bad, headers=h["head"])
            assert r.status == 400, bad
        r = await c.put("/api/users/head/email", json={"email": "glava@adm.example"}, headers=h["adm"])
        assert r.status == 200
        assert (await c.put("/api/users/head/email", json={"email": "x"}, headers=h["head"])).status == 403
        assert (await c.put("/api/users/head/email", json={"email": "not an address"}, headers=h["adm"])).status == 409
    with db.session() as s:
        assert s.execute(select(UserRow.email).where(UserRow.login == "head")).scalar_one() == "glava@adm.example"


# -- the CLI -----------------------------------------------------------------------------------

def test_cli_report_in_the_logged_in_users_scope_and_users_email(db, database_url, seeded, tmp_path):
    from tests.otklik.test_cases_cli import cli, login

    with db.session() as s:
        auth.create_user(s, "exe_h", "executor", password=PASSWORD, department="zhkh")
        auth.create_user(s, "glava", "head", password=PASSWORD)
    session = login(database_url, tmp_path, "exe_h")
    out = tmp_path / "r.xlsx"
    r = cli(database_url, "--from", FIRST.isoformat(), "--to", LAST.isoformat(), "--format", "xlsx",
            "--out", str(out), session_file=session, command="report")
    assert r.returncode == 0, r.stderr
    sheet = list(openpyxl.load_workbook(out)["Своевременность"].iter_rows(values_only=True))
    assert dict(zip(sheet[1], sheet[2], strict=False))["Поступило"] == 3  # zhkh's B, D, E only
    r = cli(database_url, "--from", "2026-11-40", "--to", LAST.isoformat(), "--out", str(out),
            session_file=session, command="report")
    assert r.returncode == 2 and "not a date" in r.stderr and "Traceback" not in r.stderr
    r = cli(database_url, "email", "glava", "glava@adm.example", command="users")
    assert r.returncode == 0, r.stderr
    with db.session() as s:
        assert s.execute(select(UserRow.email).where(UserRow.login == "glava")).scalar_one() == "glava@adm.example"


def test_the_demo_ends_with_the_days_timeliness(db):
    from otklik.demo.summary import timeliness, timeliness_text
    from storage.tables import now

    with db.session() as s:
        ensure_departments(s, ["dorogi"])
        insert_cases(s, [Spec(now() - timedelta(minutes=5), answer_by=now() - timedelta(minutes=1)),
                         Spec(now() - timedelta(minutes=4), answer_by=now() + timedelta(days=1))], profile=PROFILE)
    rows_ = timeliness(db, PROFILE)
    assert rows_[0]["name"] == "Всего" and rows_[0]["received"] == 2 and rows_[0]["open_overdue"] == 1
    assert {r["name"] for r in rows_[1:]} == {"dorogi"}
    table = timeliness_text(rows_, PROFILE)
    assert "Своевременность" in table and "dorogi" in table
    assert "Asia/Novosibirsk" in table and PROFILE in table  # its day, zone and profile


async def test_a_scheduled_report_reaches_the_notify_channel_with_a_summary_and_a_link(db):
    import httpx
    import respx

    from otklik.watcher import DeadlineWatcher

    with db.session() as s:
        ensure_departments(s, ["dorogi"])
        insert_cases(s, [Spec(datetime(2026, 11, d, 10, tzinfo=ZoneInfo("Europe/Moscow")),
                              answer_by=datetime(2026, 11, d + 1, 18, tzinfo=ZoneInfo("Europe/Moscow")))
                         for d in (3, 4)], profile="zarechny")
    settings = Settings(profile="zarechny", public_url="https://otklik.zarechny.example/",
                        notify={"webhook_url": "https://hooks.example/otklik"})
    at = datetime(2026, 12, 7, 9, 30, tzinfo=ZoneInfo("Europe/Moscow"))
    assert "periodic:month" in {d.kind for d in await ReportScheduler(db, settings).run_due(at)}
    with respx.mock:
        hook = respx.post("https://hooks.example/otklik").mock(return_value=httpx.Response(200))
        await DeadlineWatcher(db, settings).notify()
    bodies = [json.loads(c.request.content) for c in hook.calls]
    [monthly] = [b for b in bodies if b["kind"] == "report"]
    assert "отчёт за месяц 01.11.2026–30.11.2026" in monthly["text"] and "Поступило 2" in monthly["text"]
    assert monthly["text"].endswith("Полный отчёт: https://otklik.zarechny.example/api/reports"
                                    "?from=2026-11-01&to=2026-11-30&format=html")
    with db.session() as s:  # delivered once: the next tick sends nothing again
        assert s.execute(text("SELECT count(*) FROM alerts WHERE sent_at IS NULL")).scalar_one() == 0
