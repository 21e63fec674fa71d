"""Staff notes end to end: a case step writes the notes in its own transaction, the relay enqueues
them, a real RQ worker (a child process) sends the e-mail to a real SMTP server (aiosmtpd, in this
process); the console note is there at once. Quiet hours defer, urgent reports do not; the same
event never makes two notes and a note is never sent twice; a 5xx bounce is failed and visible, a
4xx is retried; the daily digest is written once a day, restarts or not."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from rq import Queue

from otklik.notify import digest, prefs, store
from otklik.notify.recipients import Recipient
from otklik.relay import OutboxRelay
from otklik.settings import get_settings
from regulation.profiles import load_profile
from storage.db import Database
from storage.tables import NotificationRow, now
from tests.otklik import notify_world as world
from workers import queue

SENDER = "uvedomleniya@adm-severny.example"
TZ = load_profile("severny").calendar.tz


@pytest.fixture
def env(tmp_path, database_url, redis_url, smtp_server, monkeypatch):
    inbox, port = smtp_server
    config = tmp_path / "otklik.toml"
    config.write_text(f'profile = "severny"\npublic_url = "https://otklik.adm.example"\n'
                      f'[mail]\nhost = "127.0.0.1"\nport = {port}\nsender = "{SENDER}"\ntimeout = 5\n', encoding="utf-8")
    monkeypatch.setenv("OTKLIK_CONFIG", str(config))
    get_settings.cache_clear()
    environ = {**os.environ, "OTKLIK_CONFIG": str(config), "DATABASE_URL": database_url, "REDIS_URL": redis_url,
               "OTKLIK_VAR_DIR": str(tmp_path)}  # the default lease (90 s): a live claim stays live
    yield {"inbox": inbox, "env": environ, "redis_url": redis_url}
    get_settings.cache_clear()


@pytest.fixture
def people(db, env) -> dict[str, int]:
    with db.session() as s:
        return world.staff(s)


def burst(env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "otklik", "worker", "--burst"], env=env["env"],
                          capture_output=True, text=True, timeout=120)


def notes(db, **where) -> list[NotificationRow]:
    with db.session() as s:
        rows = list(s.query(NotificationRow).filter_by(**where).order_by(NotificationRow.id))
        s.expunge_all()
        return rows


def relay(db, env) -> int:
    return OutboxRelay(db, env["redis_url"]).step()


def quiet_now(db, user_id: int) -> None:
    """Quiet hours from an hour ago to two hours ahead, local time (crossing midnight or not)."""
    local = now().astimezone(TZ)
    with db.session() as s:
        prefs.save(s, user_id, prefs.Prefs(quiet_start=f"{(local - timedelta(hours=1)):%H:%M}",
                                           quiet_end=f"{(local + timedelta(hours=2)):%H:%M}"))


def test_a_routed_case_reaches_its_executor_by_email_and_in_the_console(db, env, people):
    with db.session() as s:
        case_id = world.open_case(s)
    email = notes(db, channel="email")
    assert [(n.user_id, n.kind, n.status) for n in email] == [(people["ivanov"], "assigned", "pending")]
    console = notes(db, channel="console")
    # petrova has no e-mail address: the console only; the console note is delivered by being stored.
    assert sorted((n.user_id, n.status) for n in console) == sorted(
        [(people["ivanov"], "sent"), (people["petrova"], "sent")])
    assert relay(db, env) == 1
    r = burst(env)
    assert notes(db, channel="email")[0].status == "sent", r.stderr[-3000:]
    [got] = env["inbox"].messages
    assert got["To"] == "ivanov@adm.example" and env["inbox"].envelopes[0][0] == SENDER
    assert got["Subject"] == f"Вам назначено обращение №{case_id}"
    body = got.get_content()
    assert "Ямы на дорогах" in body and f"https://otklik.adm.example/console/cases/{case_id}" in body
    assert "Срок ответа:" in body and "UTC+07" in body  # local time, with the zone
    for private in (world.AUTHOR, world.PHONE, "Жителева"):
        assert private not in body
    for secret in ("ivanov@adm.example", world.PHONE, "Ямы"):
        assert secret not in r.stderr + r.stdout  # the log names the note, not its address or text
    assert relay(db, env) == 0  # nothing left to do


def test_the_same_event_never_makes_two_notes_and_a_note_is_never_sent_twice(db, env, people):
    with db.session() as s:
        world.open_case(s)
    [row] = notes(db, channel="email")
    with db.session() as s:  # the event seen again (a retried transaction, another daemon)
        again = store.write(s, [(Recipient(people["ivanov"], "ivanov"), store.note_of(row))], "assigned",
                            row.dedupe_key.split("|")[0], tz=TZ, at=now())
        assert again == []
    assert len(notes(db)) == 3
    relay(db, env)
    # Enqueued twice more by hand, as a second relay racing the first would.
    q = Queue(queue.DEFAULT, connection=queue.connect(env["redis_url"]))
    q.enqueue("workers.notify_jobs.send_notification", row.id)
    q.enqueue("workers.notify_jobs.send_notification", row.id)
    r = burst(env)
    assert len(env["inbox"].messages) == 1, r.stderr[-3000:]
    assert notes(db, channel="email")[0].attempts == 1


def test_a_claim_whose_worker_died_is_taken_again_and_sent_once(db, env, people):
    with db.session() as s:
        world.open_case(s)
    [row] = notes(db, channel="email")
    with db.session() as s:  # a worker claimed it and was killed before sending
        claimed = store.claim(s, row.id)
        claimed.sending_at = now() - timedelta(minutes=5)
    with db.session() as s:
        assert store.claim(s, row.id) is not None  # the lease expired: taken again
        s.rollback()
    assert relay(db, env) == 1
    r = burst(env)
    [after] = notes(db, channel="email")
    assert after.status == "sent" and len(env["inbox"].messages) == 1, r.stderr[-3000:]
    # A live claim is left alone: a second job finds nothing to do.
    with db.session() as s:
        world.open_case(s, executors=("zhkh",))
    [fresh] = notes(db, channel="email", status="pending")
    with db.session() as s:
        store.claim(s, fresh.id)
    q = Queue(queue.DEFAULT, connection=queue.connect(env["redis_url"]))
    q.enqueue("workers.notify_jobs.send_notification", fresh.id)
    burst(env)
    assert len(env["inbox"].messages) == 1
    assert notes(db, id=fresh.id)[0].status == "sending"


def test_quiet_hours_defer_a_note_and_an_urgent_report_goes_through_them(db, env, people):
    quiet_now(db, people["ivanov"])
    quiet_now(db, people["glava"])
    with db.session() as s:
        world.open_case(s, importance="high")  # the head's report (000 §25) and the executor's note
    ivanov = notes(db, channel="email", user_id=people["ivanov"])[0]
    glava = notes(db, channel="email", user_id=people["glava"])[0]
    assert ivanov.status == "deferred" and ivanov.not_before > now()
    local_end = ivanov.not_before.astimezone(TZ)
    assert f"{local_end:%H:%M}" == f"{(now().astimezone(TZ) + timedelta(hours=2)):%H:%M}"
    assert glava.status == "pending" and glava.urgent and glava.not_before is None
    assert notes(db, channel="console", user_id=people["ivanov"])[0].status == "sent"  # shown at once
    assert relay(db, env) == 1  # only the urgent one
    burst(env)
    assert [m["To"] for m in env["inbox"].messages] == ["glava@adm.example"]
    assert env["inbox"].messages[0]["Subject"].startswith("Срочно: ")
    with db.session() as s:  # the quiet hours are over
        s.get(NotificationRow, ivanov.id).not_before = now() - timedelta(seconds=1)
    assert relay(db, env) == 1
    burst(env)
    assert [m["To"] for m in env["inbox"].messages] == ["glava@adm.example", "ivanov@adm.example"]


def test_a_5xx_bounce_fails_visibly_and_a_4xx_is_retried(db, env, people):
    env["inbox"].refuse = {"ivanov@": "550 5.1.1 No such mailbox", "sidorov@": "451 4.3.0 Try again later"}
    with db.session() as s:
        world.open_case(s, executors=("dorogi", "zhkh"))
    relay(db, env)
    r = burst(env)
    by_user = {n.user_id: n for n in notes(db, channel="email")}
    bounced, later = by_user[people["ivanov"]], by_user[people["sidorov"]]
    assert bounced.status == "failed" and "550" in bounced.last_error, r.stderr[-3000:]
    assert later.status == "pending" and "451" in later.last_error and later.attempts == 1
    assert later.not_before >= later.sending_at + timedelta(seconds=1)  # backed off (2 s × 0.5–1 after one try)
    env["inbox"].refuse = {}
    with db.session() as s:
        s.get(NotificationRow, later.id).not_before = now() - timedelta(seconds=1)
    relay(db, env)
    burst(env)
    by_user = {n.user_id: n for n in notes(db, channel="email")}
    assert by_user[people["sidorov"]].status == "sent" and by_user[people["sidorov"]].attempts == 2
    assert by_user[people["ivanov"]].status == "failed"  # a bounce is not retried by itself
    assert [m["To"] for m in env["inbox"].messages] == ["sidorov@adm.example"]


def _working_morning(days_ahead: int, hour: int = 9) -> datetime:
    cal = load_profile("severny").calendar
    d = now().astimezone(TZ).date() + timedelta(days=days_ahead)
    while not cal.is_working_day(d):
        d += timedelta(days=1)
    return datetime.combine(d, datetime.min.time().replace(hour=hour), TZ)


def test_the_daily_digest_once_a_day_at_the_persons_time_even_across_a_restart(db, env, people, database_url):
    with db.session() as s:
        case_id = world.open_case(s)
    link = get_settings().link("/console/inbox")
    morning = _working_morning(5)  # the case's term (hours from now) is past by then: overdue
    assert digest.run(db, "severny", link, at=morning.replace(hour=8, minute=0)) == 0  # before 08:30
    # The executors of the department holding it; the municipal roles see every case.
    assert digest.run(db, "severny", link, at=morning) == 5
    made = {n.user_id for n in notes(db, kind="digest")}
    assert made == {people[p] for p in ("ivanov", "petrova", "kurator", "soglas", "glava")}
    assert people["sidorov"] not in made  # zhkh has nothing due
    assert digest.run(db, "severny", link, at=morning + timedelta(hours=2)) == 0
    restarted = Database.connect(database_url)  # another process, later the same day
    try:
        assert digest.run(restarted, "severny", link, at=morning + timedelta(hours=5)) == 0
    finally:
        restarted.dispose()
    [mail_row] = notes(db, kind="digest", channel="email", user_id=people["ivanov"])
    assert f"№{case_id} (Ямы на дорогах)" in mail_row.text and "просрочено" in mail_row.text
    next_day = morning + timedelta(days=1)
    while not load_profile("severny").calendar.is_working_day(next_day.date()):
        next_day += timedelta(days=1)
    assert digest.run(db, "severny", link, at=next_day) == 5  # a new working day, a new digest
    relay(db, env)
    burst(env)
    assert "ivanov@adm.example" in [m["To"] for m in env["inbox"].messages]


def test_a_person_who_turns_the_digest_off_or_sets_a_later_time(db, env, people):
    with db.session() as s:
        world.open_case(s)
        prefs.save(s, people["ivanov"], prefs.Prefs(digest=False))
        prefs.save(s, people["petrova"], prefs.Prefs(digest_at="11:00"))
    link = get_settings().link("/console/inbox")
    morning = _working_morning(5)
    digest.run(db, "severny", link, at=morning)
    assert {people["ivanov"], people["petrova"]}.isdisjoint({n.user_id for n in notes(db, kind="digest")})
    digest.run(db, "severny", link, at=morning.replace(hour=11, minute=5))
    assert people["petrova"] in {n.user_id for n in notes(db, kind="digest")}
    assert people["ivanov"] not in {n.user_id for n in notes(db, kind="digest")}


def test_a_letter_sent_again_after_a_crash_carries_the_same_message_id(db, env, people):
    """A worker killed after the SMTP server took the letter, before it recorded so: the claim
    expires and the note is sent again, as the same letter (Message-ID from the note's id), which
    mail clients show once."""
    with db.session() as s:
        world.open_case(s)
    [row] = notes(db, channel="email")
    relay(db, env)
    burst(env)
    with db.session() as s:  # as if the first worker had died between the SMTP answer and the commit
        again = s.get(NotificationRow, row.id)
        again.status, again.sending_at = "sending", now() - timedelta(minutes=5)
    assert relay(db, env) == 1
    r = burst(env)
    first, second = env["inbox"].messages
    assert first["Message-ID"] == second["Message-ID"] == f"<notify-{row.id}@adm-severny.example>", r.stderr[-3000:]
