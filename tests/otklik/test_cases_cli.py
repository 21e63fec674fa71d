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
from storage import audit
from storage.tables import AuditRow, MessageRow, OutboxRow, SessionRow

PASSWORD = "Sadovaya-yama-42"


def cli(database_url, *args, session_file=None, stdin=None, command="cases"):
    env = {**os.environ, "DATABASE_URL": database_url, "OTKLIK_SESSION_FILE": str(session_file or "/nonexistent")}
    env.pop("OTKLIK_TOKEN", None)
    return subprocess.run([sys.executable, "-m", "otklik", command, *args], capture_output=True, text=True,
                          env=env, timeout=60, input=stdin)


def login(database_url, tmp_path, name, otp=None):
    """`otklik login` as a script does it; returns the session file."""
    path = tmp_path / f"{name}.session"
    extra = ["--otp", otp] if otp else []
    r = cli(database_url, "--login", name, "--password-stdin", *extra, session_file=path, stdin=PASSWORD + "\n",
            command="login")
    assert r.returncode == 0, r.stderr
    assert path.stat().st_mode & 0o777 == 0o600
    return path


def open_case(s, *, channel: str = "social", profile: str = "severny", external_id: str = "1:1") -> int:
    text = "На улице Садовой огромные ямы на дороге"
    msg = MessageRow(source="tg", platform="telegram", external_id=external_id,
                     thread={"kind": "chat", "ids": {"chat_id": 1, "message_id": 1}}, author_id="9",
                     text=text, created_at=datetime.now(UTC), attachments=[], raw={}, processed=True)
    s.add(msg)
    s.flush()
    routing = Router.load().route(text).model_copy(update={"needs_manual": True})
    return cases.open_or_update(s, msg, routing, channel=channel, profile_name=profile).id


def test_route_draft_approve_from_the_terminal(db, database_url, tmp_path):
    with db.session() as s:
        case_id = open_case(s)
        _, _, cur_totp = auth.create_user(s, "cur", "curator", password=PASSWORD)
        auth.create_user(s, "exe", "executor", password=PASSWORD, department="dorogi")
    r = cli(database_url, "route", str(case_id), "dorogi")
    assert r.returncode == 2 and "otklik login" in r.stderr  # no session, no action
    r = cli(database_url, "route", str(case_id), "dorogi", "--as", "cur")
    assert r.returncode == 2 and "--as" in r.stderr  # acting as someone else is gone
    r = cli(database_url, "--login", "cur", "--password-stdin", session_file=tmp_path / "x", stdin=PASSWORD + "\n",
            command="login")
    assert r.returncode == 2 and "неверный логин, пароль или код" in r.stderr  # no code: no session
    cur = login(database_url, tmp_path, "cur", pyotp.TOTP(cur_totp).now())
    exe = login(database_url, tmp_path, "exe")
    assert cli(database_url, "route", str(case_id), "dorogi", session_file=cur).returncode == 0
    r = cli(database_url, "approve", str(case_id), session_file=exe)
    assert r.returncode == 2  # nothing to approve yet, and an executor may not approve anyway
    r = cli(database_url, "draft", str(case_id), "Здравствуйте! Ямы на Садовой засыплем до пятницы.", session_file=exe)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["state"] == "on_approval"
    r = cli(database_url, "approve", str(case_id), session_file=exe)
    assert r.returncode == 2 and "may not approve" in r.stderr
    r = cli(database_url, "approve", str(case_id), "--otp", "000000", session_file=cur)
    assert r.returncode == 2 and "код" in r.stderr  # a wrong step-up code stops the action
    r = cli(database_url, "approve", str(case_id), session_file=cur)
    assert r.returncode == 0, r.stderr
    with db.session() as s:
        assert s.query(OutboxRow).count() == 1
        trail = [(a.actor, a.action) for a in audit.trail(s, "case", case_id)]
    # Audited under the users who logged in.
    done = [actor for actor, action in trail if action != "refused"]  # refusals are audited too
    assert done[-3:] == ["cur", "exe", "cur"], trail
    listing = cli(database_url, "list", session_file=cur)
    assert f"#{case_id}" in listing.stdout and "approved" in listing.stdout
    assert cli(database_url, "list", session_file=exe).stdout == listing.stdout  # dorogi has the case
    assert cli(database_url, session_file=cur, command="logout").returncode == 0
    assert not cur.exists()
    assert cli(database_url, "send-back", str(case_id), "ещё раз", session_file=cur).returncode == 2


def test_a_script_uses_a_printed_token_from_the_environment(db, database_url):
    with db.session() as s:
        auth.create_user(s, "exe", "executor", password=PASSWORD, department="dorogi")
    r = cli(database_url, "--print-token", "--login", "exe", "--password-stdin", stdin=PASSWORD + "\n",
            command="login")
    assert r.returncode == 0, r.stderr
    env = {**os.environ, "DATABASE_URL": database_url, "OTKLIK_TOKEN": r.stdout.strip(),
           "OTKLIK_SESSION_FILE": "/nonexistent"}
    out = subprocess.run([sys.executable, "-m", "otklik", "logout"], capture_output=True, text=True, timeout=60,
                         env=env)
    assert out.returncode == 0, out.stderr
    with db.session() as s:
        assert s.query(SessionRow).one().revoke_reason == "logout"
        assert [(a.actor, a.action) for a in audit.trail(s, "user", 1)][-1] == ("exe", "logout")


def test_a_draft_states_its_outcome_where_the_channel_asks(db, database_url, tmp_path):
    with db.session() as s:
        case_id = open_case(s, channel="kuzbass_online", profile="tashtagol")
        cases.route(s, Actor(login="cur", role="curator", via="cli"), case_id, executors=["dorogi"])
        auth.create_user(s, "exe", "executor", password=PASSWORD, department="dorogi")
    exe = login(database_url, tmp_path, "exe")
    draft = ["draft", str(case_id), "Здравствуйте! Яму на Садовой заделали."]
    r = cli(database_url, *draft, session_file=exe)
    assert r.returncode == 2 and "needs an outcome" in r.stderr
    r = cli(database_url, *draft, "--outcome", "решено", session_file=exe)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["state"] == "on_approval"


def directory(database_url, *args):
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "otklik", *args], capture_output=True, text=True, env=env,
                          timeout=60)


def test_the_terminal_keeps_an_executor_to_its_department(db, database_url, tmp_path):
    with db.session() as s:
        mine, theirs = open_case(s), open_case(s, external_id="1:2")
        cur = Actor(login="cur", role="curator", via="cli")
        cases.route(s, cur, mine, executors=["dorogi"])
        cases.route(s, cur, theirs, executors=["zhkh"])
        auth.create_user(s, "exe", "executor", password=PASSWORD, department="dorogi")
        auth.create_user(s, "sub", "executor", password=PASSWORD, department="kultura")
    exe, sub = login(database_url, tmp_path, "exe"), login(database_url, tmp_path, "sub")
    listing = cli(database_url, "list", session_file=exe)
    assert f"#{mine} " in listing.stdout and f"#{theirs} " not in listing.stdout
    r = cli(database_url, "show", str(theirs), session_file=exe)
    assert r.returncode == 2 and f"no case {theirs}" in r.stderr
    r = cli(database_url, "draft", str(theirs), "Здравствуйте! Сделаем.", session_file=exe)
    assert r.returncode == 2 and f"no case {theirs}" in r.stderr
    # The admin's directory: a substitute for the roads executor, from yesterday to tomorrow.
    today = access.local_today()
    r = directory(database_url, "users", "substitute", "exe", "sub", "--from", str(today - timedelta(days=1)),
                  "--to", str(today + timedelta(days=1)), "--reason", "illness")
    assert r.returncode == 0, r.stderr
    assert "sub замещает exe" in r.stdout
    assert "exe" in directory(database_url, "users", "substitutes").stdout
    assert f"#{mine} " in cli(database_url, "list", session_file=sub).stdout
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


def test_passwd_from_the_terminal(db, database_url, tmp_path):
    with db.session() as s:
        auth.create_user(s, "exe", "executor", password=PASSWORD, department="dorogi")
    exe = login(database_url, tmp_path, "exe")
    r = cli(database_url, "--password-stdin", session_file=exe, stdin=f"{PASSWORD}\nqwertyuiop\n", command="passwd")
    assert r.returncode == 2 and "распространённых" in r.stderr
    r = cli(database_url, "--password-stdin", session_file=exe, stdin=f"{PASSWORD}\nNovy-parol-2026\n",
            command="passwd")
    assert r.returncode == 0, r.stderr
    with db.session() as s:
        assert [a.action for a in audit.trail(s, "user", 1)][-1] == "password_changed"


def test_list_and_show_speak_local_time_in_lifecycle_order(db, database_url, tmp_path):
    """Times as the municipality reads them (its profile's zone, with the offset); the deadlines in
    the order the case lives them; the drafts' texts and their quality check in `show`."""
    from regulation.profiles import load_profile

    zone = load_profile("severny").calendar.tz
    with db.session() as s:
        case_id = open_case(s)
        cases.route(s, Actor(login="cur", role="curator", via="cli"), case_id, executors=["dorogi"])
        auth.create_user(s, "exe", "executor", password=PASSWORD, department="dorogi")
        answer_by = s.get(__import__("storage.tables", fromlist=["CaseRow"]).CaseRow, case_id).answer_by
    exe = login(database_url, tmp_path, "exe")
    text = "Здравствуйте! Ямы на Садовой засыплем до пятницы."
    assert cli(database_url, "draft", str(case_id), text, session_file=exe).returncode == 0
    offset = datetime.now(zone).strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}"
    local_due = (answer_by if answer_by.tzinfo else answer_by.replace(tzinfo=UTC)).astimezone(zone)
    listing = cli(database_url, "list", session_file=exe).stdout
    assert f"due {local_due.isoformat(timespec='seconds')}" in listing, listing
    shown = json.loads(cli(database_url, "show", str(case_id), session_file=exe).stdout)
    assert shown["created_at"].endswith(offset) and shown["answer_by"].endswith(offset)
    assert all(v is None or v.endswith(offset) for k, v in shown["deadlines"].items() if isinstance(v, str))
    assert all(v.endswith(offset) for v in shown["deadlines"]["counted_from"].values())
    steps = [k for k in shown["deadlines"] if k.endswith("_by")]
    assert steps.index("draft_by") < steps.index("approve_by") < steps.index("answer_by")
    assert steps.index("route_by") < steps.index("draft_by")
    draft = shown["drafts"][-1]
    assert draft["text"] == text and isinstance(draft["quality"], list)
    assert all(a["at"].endswith(offset) for a in shown["audit"])
