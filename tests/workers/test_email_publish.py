"""Answers by e-mail through the outbox and real RQ workers (child processes), to a real SMTP server
(aiosmtpd, in this process) with the attachments served over real HTTP."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import time

import pytest

from otklik.demo.run import kill_tree
from otklik.relay import OutboxRelay
from storage.tables import AuditRow, OutboxRow

CITIZEN = "zhitel.lesnaya@example.org"
SENDER = "otvet@adm-severny.example"
FILES = {"/akt.pdf": (b"%PDF-1.4 act", "application/pdf"), "/photo.jpg": (b"\xff\xd8\xff\xe0 road", "image/jpeg")}


class Files(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the stdlib's name
        body, mime = FILES.get(self.path, (b"no", "text/plain"))
        self.send_response(200 if self.path in FILES else 404)
        self.send_header("Content-Type", mime)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def wait_for(predicate, timeout=30.0, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not reached in time")


@pytest.fixture
def env(tmp_path, database_url, redis_url, smtp_server, monkeypatch):
    from datetime import timedelta

    from storage import outbox

    monkeypatch.setattr(outbox, "SENDING_LEASE", timedelta(seconds=2))  # as the worker's env says
    inbox, port = smtp_server
    files = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=files.serve_forever, daemon=True).start()
    config = tmp_path / "otklik.toml"
    config.write_text(f'[mail]\nhost = "127.0.0.1"\nport = {port}\nsender = "{SENDER}"\ntimeout = 5\n\n'
                      '[[sources]]\nname = "mail"\nplatform = "email"\n', encoding="utf-8")
    environ = {**os.environ, "OTKLIK_CONFIG": str(config), "DATABASE_URL": database_url, "REDIS_URL": redis_url,
               "OTKLIK_VAR_DIR": str(tmp_path), "OTKLIK_SENDING_LEASE": "2"}
    yield {"inbox": inbox, "env": environ, "redis_url": redis_url,
           "files": f"http://127.0.0.1:{files.server_address[1]}"}
    files.shutdown()
    files.server_close()


def approved_email_reply(db, make_approved_reply, env, with_files: bool = True) -> str:
    reply_id = make_approved_reply(source="mail", platform="email",
                                   thread={"kind": "email", "ids": {"address": CITIZEN}},
                                   text="Здравствуйте! Дорогу на Лесной отремонтировали, акт и фото во вложении.")
    if with_files:
        with db.session() as s:
            row = s.get(OutboxRow, reply_id)
            row.reply = {**row.reply, "attachments": [{"type": "doc", "url": f"{env['files']}/akt.pdf"},
                                                      {"type": "photo", "url": f"{env['files']}/photo.jpg"}]}
    return reply_id


def burst(env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "otklik", "worker", "--burst"], env=env["env"],
                          capture_output=True, text=True, timeout=120)


def row_of(db, outbox_id) -> OutboxRow:
    with db.session() as s:
        row = s.get(OutboxRow, outbox_id)
        s.expunge(row)
        return row


def test_an_approved_answer_arrives_by_email_with_its_attachments(db, env, make_approved_reply):
    reply_id = approved_email_reply(db, make_approved_reply, env)
    OutboxRelay(db, env["redis_url"]).step()
    r = burst(env)
    row = row_of(db, reply_id)
    assert row.status == "posted", r.stderr[-3000:]
    [got] = env["inbox"].messages
    assert got["Message-ID"] == row.external_id == f"<reply-{reply_id}@adm-severny.example>"
    assert got["To"] == CITIZEN and env["inbox"].envelopes[0] == (SENDER, [CITIZEN])
    assert [(p.get_filename(), p.get_content()) for p in got.iter_attachments()] == [
        ("akt.pdf", FILES["/akt.pdf"][0]), ("photo.jpg", FILES["/photo.jpg"][0])]
    assert "zhitel" not in r.stderr + r.stdout  # the address is personal data: never in a log


def test_a_worker_killed_after_data_resends_the_same_message_id(db, env, make_approved_reply):
    """SIGKILL while the server holds the letter, before its 250 reached us and was recorded. The
    retry sends the letter again with the same Message-ID: a recognisable duplicate, never lost."""
    reply_id = approved_email_reply(db, make_approved_reply, env, with_files=False)
    env["inbox"].delay_data = 5.0
    relay = OutboxRelay(db, env["redis_url"])
    relay.step()
    worker = subprocess.Popen([sys.executable, "-m", "otklik", "worker"], env=env["env"], start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: env["inbox"].messages, 60)  # the server has the letter
        kill_tree(worker.pid)
        worker.wait()
    finally:
        if worker.poll() is None:
            kill_tree(worker.pid)
    assert row_of(db, reply_id).status == "sending"
    env["inbox"].delay_data = 0.0
    time.sleep(2.5)  # the lease of the dead attempt expires
    relay.step()
    r = burst(env)
    row = row_of(db, reply_id)
    assert row.status == "posted", r.stderr[-3000:]
    first, second = env["inbox"].messages
    assert first["Message-ID"] == second["Message-ID"] == row.external_id


def test_a_refused_mailbox_ends_as_a_failed_delivery_showing_the_bounce(db, env, make_approved_reply):
    env["inbox"].refuse = {"zhitel": "550 5.1.1 no such mailbox"}
    reply_id = approved_email_reply(db, make_approved_reply, env, with_files=False)
    OutboxRelay(db, env["redis_url"]).step()
    r = burst(env)
    row = row_of(db, reply_id)
    assert row.status == "failed" and row.last_error.startswith("bounced"), (row.status, r.stderr[-2000:])
    assert row.attempts == 1 and env["inbox"].messages == []  # a bounce is not retried
    listed = subprocess.run([sys.executable, "-m", "otklik", "deliveries"], env=env["env"], capture_output=True,
                            text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    [line] = [ln for ln in listed.stdout.splitlines() if reply_id in ln]
    assert "failed" in line and "bounced" in line and "550" in line
    as_json = subprocess.run([sys.executable, "-m", "otklik", "deliveries", "--status", "failed", "--json"],
                             env=env["env"], capture_output=True, text=True, timeout=60)
    [entry] = [json.loads(ln) for ln in as_json.stdout.splitlines()]
    assert entry["id"] == reply_id and entry["last_error"].startswith("bounced")
    with db.session() as s:
        [failed] = [a for a in s.query(AuditRow).filter_by(entity_id=reply_id, action="delivery_failed")]
        assert failed.data["error"] == "bounced" and failed.data["code"] == 550
    out = r.stderr + r.stdout + listed.stdout + listed.stderr + as_json.stdout
    assert "zhitel" not in out


def test_a_busy_mailbox_451_is_retried_and_the_letter_arrives_once(db, env, make_approved_reply):
    env["inbox"].refuse, env["inbox"].times = {"zhitel": "451 4.7.1 greylisted, try again"}, 1
    reply_id = approved_email_reply(db, make_approved_reply, env, with_files=False)
    OutboxRelay(db, env["redis_url"]).step()
    r = burst(env)
    row = row_of(db, reply_id)
    assert row.status == "posted", r.stderr[-3000:]
    assert len(env["inbox"].messages) == 1 and env["inbox"].times == 0
    assert row.attempts == 1  # retried inside the attempt (transient), not parked or failed
