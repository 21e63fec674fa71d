"""An answer with photos through the real way out: the executor adds two photos, submits the draft,
the approver approves (the reply frozen with its files in the outbox), the relay enqueues, a real RQ
worker (a child process reading the same attachment store) posts one album to the Telegram emulator;
a re-run of the job posts nothing more."""

from __future__ import annotations

from datetime import UTC, datetime

import redis
from rq import Queue

from otklik.actor import Actor
from otklik.attachments.store import default_store
from otklik.relay import OutboxRelay
from otklik.services import attachments as files
from otklik.services import cases
from otklik.settings import get_settings
from router.classifier import Router
from storage.tables import MessageRow
from tests.otklik.files import jpeg, png
from tests.workers.test_publish import burst, citizen, env, status  # noqa: F401 - env is a fixture

CUR = Actor(login="cur", role="curator", via="cli")
EXE = Actor(login="exe", role="executor", department="zhkh", via="cli")
APPROVER = Actor(login="head", role="approver", via="cli")
TEXT = "Здравствуйте! Фонарь у дома 3 заменили, фотографии до и после прилагаем."


def test_an_approved_answer_with_two_photos_is_posted_once_as_an_album(db, env, monkeypatch):  # noqa: F811
    monkeypatch.setenv("OTKLIK_CONFIG", env["env"]["OTKLIK_CONFIG"])
    monkeypatch.setenv("OTKLIK_VAR_DIR", str(env["tmp"]))
    get_settings.cache_clear()
    thread = citizen(env)
    with db.session() as s:
        msg = MessageRow(source="tg", platform="telegram", external_id=f"{thread['ids']['chat_id']}:1",
                         thread=thread, author_id="777", text="Не горит фонарь у дома 3",
                         created_at=datetime.now(UTC), attachments=[], raw={}, processed=True)
        s.add(msg)
        s.flush()
        routing = Router.load().route(msg.text).model_copy(update={"needs_manual": True})
        case_id = cases.open_or_update(s, msg, routing, channel="social", profile_name="severny").id
        cases.route(s, CUR, case_id, executors=["zhkh"])
        files.add(s, EXE, case_id, jpeg(), "до.jpg")
        files.add(s, EXE, case_id, png(), "после.png")
        cases.submit_draft(s, EXE, case_id, text=TEXT)
    with db.session() as s:
        outbox_id = cases.approve(s, APPROVER, case_id).id
    OutboxRelay(db, env["redis_url"]).step()
    r = burst(env)
    assert status(db, outbox_id) == "posted", r.stderr[-3000:]
    replies = env["emulator"].replies
    assert len(replies) == 1 and replies[0]["text"] == TEXT
    assert [env["emulator"].files[a["sha256"]] for a in replies[0]["attachments"]] == [jpeg(), png()]
    assert all(default_store().exists(a["sha256"]) for a in replies[0]["attachments"])
    Queue("publish", connection=redis.Redis.from_url(env["redis_url"])).enqueue(
        "workers.jobs.publish_reply", outbox_id)
    burst(env)
    assert len(env["emulator"].replies) == 1
    get_settings.cache_clear()
