"""The curator's terminal: the same lifecycle as the API, with roles and one-time codes."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pyotp

from otklik.actor import Actor
from otklik.api import auth
from otklik.services import access, cases
from router.classifier import Router
from storage.tables import AuditRow, MessageRow, OutboxRow


def cli(database_url, *args):
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "otklik", "cases", *args], capture_output=True, text=True,
                          env=env, timeout=60)


def open_case(s, *, channel: str = "social", profile: str = "severny", external_id: str = "1:1") -> int:
    text = "На улице Садовой огромные ямы на дороге"
    msg = MessageRow(source="tg", platform="telegram", external_id=external_id,
                     thread={"kind": "chat", "ids": {"chat_id": 1, "message_id": 1}}, author_id="9",
                     text=text, created_at=datetime.now(UTC), attachments=[], raw={}, processed=True)
    s.add(msg)
    s.flush()
    routing = Router.load().route(text).model_copy(update={"needs_manual": True})
    return cases.open_or_update(s, msg, routing, channel=channel, profile_name=profile).id


def test_route_draft_approve_from_the_terminal(db, database_url):
    with db.session() as s:
        case_id = open_case(s)
        _, _, cur_totp = auth.create_user(s, "cur", "curator", password="pw")
        auth.create_user(s, "exe", "executor", password="pw", department="dorogi")
    r = cli(database_url, "route", str(case_id), "dorogi", "--as", "cur")
    assert r.returncode == 2 and "needs a valid --otp" in r.stderr
    def otp() -> str:  # a fresh code per command: on a busy machine a run outlasts one code
        return pyotp.TOTP(cur_totp).now()
    assert cli(database_url, "route", str(case_id), "dorogi", "--as", "cur", "--otp", otp()).returncode == 0
    r = cli(database_url, "approve", str(case_id), "--as", "exe")
    assert r.returncode == 2  # nothing to approve yet, and an executor may not approve anyway
    r = cli(database_url, "draft", str(case_id), "Здравствуйте! Ямы на Садовой засыплем до пятницы.", "--as", "exe")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["state"] == "on_approval"
    r = cli(database_url, "approve", str(case_id), "--as", "exe")
    assert r.returncode == 2 and "may not approve" in r.stderr
    r = cli(database_url, "approve", str(case_id), "--as", "cur", "--otp", otp())
    assert r.returncode == 0, r.stderr
    with db.session() as s:
        assert s.query(OutboxRow).count() == 1
    listing = cli(database_url, "list", "--as", "cur", "--otp", otp())
    assert f"#{case_id}" in listing.stdout and "approved" in listing.stdout
    assert cli(database_url, "list", "--as", "exe").stdout == listing.stdout  # dorogi has the case


def test_a_draft_states_its_outcome_where_the_channel_asks(db, database_url):
    with db.session() as s:
        case_id = open_case(s, channel="kuzbass_online", profile="tashtagol")
        cases.route(s, Actor(login="cur", role="curator", via="cli"), case_id, executors=["dorogi"])
        auth.create_user(s, "exe", "executor", password="pw", department="dorogi")
    draft = ["draft", str(case_id), "Здравствуйте! Яму на Садовой заделали.", "--as", "exe"]
    r = cli(database_url, *draft)
    assert r.returncode == 2 and "needs an outcome" in r.stderr
    r = cli(database_url, *draft, "--outcome", "решено")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["state"] == "on_approval"


def directory(database_url, *args):
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "otklik", *args], capture_output=True, text=True, env=env,
                          timeout=60)


def test_the_terminal_keeps_an_executor_to_its_department(db, database_url):
    with db.session() as s:
        mine, theirs = open_case(s), open_case(s, external_id="1:2")
        cur = Actor(login="cur", role="curator", via="cli")
        cases.route(s, cur, mine, executors=["dorogi"])
        cases.route(s, cur, theirs, executors=["zhkh"])
        auth.create_user(s, "exe", "executor", password="pw", department="dorogi")
        auth.create_user(s, "sub", "executor", password="pw", department="kultura")
    listing = cli(database_url, "list", "--as", "exe")
    assert f"#{mine} " in listing.stdout and f"#{theirs} " not in listing.stdout
    r = cli(database_url, "show", str(theirs), "--as", "exe")
    assert r.returncode == 2 and f"no case {theirs}" in r.stderr
    r = cli(database_url, "draft", str(theirs), "Здравствуйте! Сделаем.", "--as", "exe")
    assert r.returncode == 2 and f"no case {theirs}" in r.stderr
    # The admin's directory: a substitute for the roads executor, from yesterday to tomorrow.
    today = access.local_today()
    r = directory(database_url, "users", "substitute", "exe", "sub", "--from", str(today - timedelta(days=1)),
                  "--to", str(today + timedelta(days=1)), "--reason", "illness")
    assert r.returncode == 0, r.stderr
    assert "sub замещает exe" in r.stdout
    assert "exe" in directory(database_url, "users", "substitutes").stdout
    assert f"#{mine} " in cli(database_url, "list", "--as", "sub").stdout
    r = directory(database_url, "departments", "add", "arkhiv", "Архивный отдел")
    assert r.returncode == 0, r.stderr
    assert "Архивный отдел" in directory(database_url, "departments", "list").stdout
    r = directory(database_url, "departments", "add", "arkhiv", "Ещё раз")
    assert r.returncode == 2 and "already exists" in r.stderr
    with db.session() as s:
        trail = [(a.action, a.data.get("reason")) for a in s.query(AuditRow).filter(
            AuditRow.action.in_(("refused", "substitute_added", "department_added"))).order_by(AuditRow.id)]
    assert trail == [("refused", "scope"), ("refused", "scope"), ("substitute_added", "illness"),
                     ("department_added", None)]
