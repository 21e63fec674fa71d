"""Publishing through real RQ workers (child processes) against the Telegram emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from otklik.demo.run import kill_tree
from otklik.relay import OutboxRelay
from sandbox.registry import emulator_class
from sandbox.runner import serving
from storage.tables import DraftRow, OutboxRow


def wait_for(predicate, timeout=30.0, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not reached in time")


@pytest.fixture
def env(tmp_path, database_url, redis_url):
    emulator = emulator_class("telegram")()
    with serving(emulator) as tg:
        config = tmp_path / "otklik.toml"
        config.write_text(f'[[sources]]\nname = "tg"\nplatform = "telegram"\nbase_url = "{tg.url}"\n', encoding="utf-8")
        environ = {**os.environ, "OTKLIK_CONFIG": str(config), "DATABASE_URL": database_url, "REDIS_URL": redis_url,
                   "OTKLIK_VAR_DIR": str(tmp_path), "OTKLIK_SECRET_TG_TOKEN": emulator.demo_secrets()["token"],
                   "OTKLIK_SENDING_LEASE": "2"}
        yield {"tg": tg, "emulator": emulator, "env": environ, "redis_url": redis_url, "tmp": tmp_path}


def citizen(env) -> dict:
    """A message on the emulator to answer, and the thread our reply goes to."""
    created = env["tg"].call(env["emulator"].inject, {"text": "Не горит фонарь", "author_id": 777})
    return {"kind": "chat", "ids": {"chat_id": created["chat_id"], "message_id": created["message_id"]}}


def burst(env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "otklik", "worker", "--burst"], env=env["env"],
                          capture_output=True, text=True, timeout=120)


def status(db, outbox_id):
    with db.session() as s:
        return s.get(OutboxRow, outbox_id).status


def test_approved_reply_posted_once_even_if_enqueued_again(db, env, make_approved_reply):
    reply_id = make_approved_reply(thread=citizen(env))
    relay = OutboxRelay(db, env["redis_url"])
    relay.step()
    r = burst(env)
    assert status(db, reply_id) == "posted", r.stderr[-3000:]
    # A stale re-run of the same job (e.g. a duplicate enqueue) finds it posted and does nothing.
    import redis
    from rq import Queue

    Queue("publish", connection=redis.Redis.from_url(env["redis_url"])).enqueue(
        "workers.jobs.publish_reply", reply_id)
    burst(env)
    assert len(env["emulator"].replies) == 1
    with db.session() as s:
        row = s.get(OutboxRow, reply_id)
        assert row.external_id and row.posted_at and row.url is None or row.url


def test_unapproved_text_is_never_posted(db, env, make_approved_reply):
    reply_id = make_approved_reply(thread=citizen(env))
    with db.session() as s:
        s.get(DraftRow, s.get(OutboxRow, reply_id).draft_id).status = "returned"
    OutboxRelay(db, env["redis_url"]).step()
    burst(env)
    assert status(db, reply_id) == "failed"
    assert env["emulator"].replies == []


def test_transient_errors_and_rate_limits_are_waited_out(db, env, make_approved_reply):
    reply_id = make_approved_reply(thread=citizen(env))
    fault = env["tg"].call
    fault(env["emulator"].faults.add, {"kind": "5xx", "match": "sendMessage", "count": 2})
    fault(env["emulator"].faults.add, {"kind": "429", "match": "sendMessage", "count": 1, "retry_after": 1})
    OutboxRelay(db, env["redis_url"]).step()
    burst(env)
    assert status(db, reply_id) == "posted"
    assert len(env["emulator"].replies) == 1
    with db.session() as s:
        assert s.get(OutboxRow, reply_id).attempts == 1  # retried inside the attempt, 429 not spent


def test_fatal_error_is_visible_and_retryable(db, env, make_approved_reply):
    thread = citizen(env)
    env["tg"].call(env["emulator"].blocked_chats.add, thread["ids"]["chat_id"])
    reply_id = make_approved_reply(thread=thread)
    OutboxRelay(db, env["redis_url"]).step()
    first = burst(env)
    with db.session() as s:
        row = s.get(OutboxRow, reply_id)
        assert row.status == "failed" and "blocked" in row.last_error
    # The worker's log says so in one line keyed by ids, without the reply's text.
    lines = [json.loads(line) for line in first.stderr.splitlines() if line.startswith("{")]
    failed = [e for e in lines if e.get("stage") == "failed" and e.get("outbox_id") == reply_id]
    assert len(failed) == 1 and failed[0]["outcome"] == "failed" and failed[0]["case_id"] == row.case_id
    assert "Здравствуйте" not in first.stderr
    env["tg"].call(env["emulator"].blocked_chats.discard, thread["ids"]["chat_id"])
    r = subprocess.run([sys.executable, "-m", "otklik", "deliveries", "retry", reply_id], env=env["env"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    OutboxRelay(db, env["redis_url"]).step()
    burst(env)
    assert status(db, reply_id) == "posted"


def test_revoked_token_parks_the_delivery(db, env, make_approved_reply):
    reply_id = make_approved_reply(thread=citizen(env))
    env["tg"].call(env["emulator"].revoke)
    OutboxRelay(db, env["redis_url"]).step()
    burst(env)
    assert status(db, reply_id) == "parked"
    assert env["emulator"].replies == []


def test_worker_killed_mid_send_never_posts_twice(db, env, make_approved_reply, monkeypatch):
    """SIGKILL after the platform took the post but before we recorded it. Telegram cannot be asked
    whether it has our post, so the retry parks the delivery as `uncertain` instead of posting again."""
    from datetime import timedelta

    from storage import outbox

    monkeypatch.setattr(outbox, "SENDING_LEASE", timedelta(seconds=2))  # as the worker's env says
    reply_id = make_approved_reply(thread=citizen(env))
    env["tg"].call(env["emulator"].faults.add, {"kind": "slow", "match": "sendMessage", "count": 1, "delay": 2.0})
    relay = OutboxRelay(db, env["redis_url"])
    relay.step()
    worker = subprocess.Popen([sys.executable, "-m", "otklik", "worker"], env=env["env"], start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: status(db, reply_id) == "sending", 60)
        wait_for(lambda: env["emulator"].faults.fired, 30)  # the request reached the platform
        kill_tree(worker.pid)  # the worker and its work-horse, mid-send
        worker.wait()
    finally:
        if worker.poll() is None:
            kill_tree(worker.pid)
    wait_for(lambda: len(env["emulator"].replies) == 1, 10)  # the platform finished the post
    time.sleep(2.5)  # the lease of the dead attempt expires
    relay.step()
    burst(env)
    assert status(db, reply_id) == "uncertain"
    assert len(env["emulator"].replies) == 1


def test_a_plain_rq_worker_publishes_too(db, env, make_approved_reply):
    """Production may run `rq worker` directly on the same Redis instead of `otklik worker`."""
    reply_id = make_approved_reply(thread=citizen(env))
    OutboxRelay(db, env["redis_url"]).step()
    rq = os.path.join(os.path.dirname(sys.executable), "rq")
    r = subprocess.run([rq, "worker", "--burst", "--url", env["redis_url"], "publish"], env=env["env"],
                       capture_output=True, text=True, timeout=120)
    assert status(db, reply_id) == "posted", r.stderr[-2000:]
    assert len(env["emulator"].replies) == 1


def test_failed_delivery_redirected_to_a_private_message(db, env, make_approved_reply):
    """The citizen's group blocked the bot (or the post is gone): the curator sends it privately."""
    group = -1001000000001
    created = env["tg"].call(env["emulator"].inject, {"text": "Нет света", "author_id": 4242, "chat": "group"})
    env["tg"].call(env["emulator"].inject, {"text": "привет", "author_id": 4242})  # the citizen wrote the bot
    env["tg"].call(env["emulator"].blocked_chats.add, group)
    with db.session() as s:
        from sandbox.seed import approved_reply
        from storage.tables import MessageRow

        reply_id = approved_reply(s, source="tg", platform="telegram", text="Здравствуйте! Свет дадут к вечеру.",
                                  thread={"kind": "chat", "ids": {"chat_id": group, "message_id": created["message_id"]}})
        s.get(MessageRow, s.get(OutboxRow, reply_id).message_id).author_id = "4242"
    OutboxRelay(db, env["redis_url"]).step()
    burst(env)
    assert status(db, reply_id) == "failed"
    r = subprocess.run([sys.executable, "-m", "otklik", "deliveries", "redirect", reply_id], env=env["env"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    OutboxRelay(db, env["redis_url"]).step()
    burst(env)
    assert status(db, reply_id) == "posted"
    assert env["emulator"].replies[-1]["chat_id"] == 4242


def test_an_answer_by_email_is_not_redirected_into_the_citizens_network(db, make_approved_reply):
    """A bounced e-mail answer is fixed by correcting the address, not by a private message in the
    network the citizen wrote from (the e-mail source could not post that thread anyway)."""
    from otklik.exceptions import InvalidTransition
    from storage import outbox

    reply_id = make_approved_reply()
    with db.session() as s:
        row = s.get(OutboxRow, reply_id)
        row.reply = {**row.reply, "source": "mail", "platform": "email",
                     "thread": {"kind": "email", "ids": {"address": "citizen@example.org"}}}
        row.status = "failed"
    with db.session() as s, pytest.raises(InvalidTransition, match="goes by email"):
        outbox.redirect_private(s, reply_id)
    with db.session() as s:
        assert s.get(OutboxRow, reply_id).status == "failed"
