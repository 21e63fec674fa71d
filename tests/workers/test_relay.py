import redis
from rq import Queue

from otklik import relay as relay_mod
from otklik.relay import OutboxRelay
from storage.tables import OutboxRow


def status(db, outbox_id):
    with db.session() as s:
        return s.get(OutboxRow, outbox_id).status


def test_redis_down_keeps_outbox_then_drains(db, redis_url, make_approved_reply):
    reply_id = make_approved_reply()
    down = OutboxRelay(db, "redis://127.0.0.1:1/0")
    assert down.step() == 0
    assert status(db, reply_id) == "pending" and down.redis_ok is False

    up = OutboxRelay(db, redis_url)
    assert up.step() == 1
    assert status(db, reply_id) == "enqueued"
    q = Queue("publish", connection=redis.Redis.from_url(redis_url))
    assert q.job_ids == [reply_id]
    assert up.step() == 0  # never enqueued twice
    assert q.job_ids == [reply_id]


def test_job_lost_by_redis_is_enqueued_again(db, redis_url, make_approved_reply, monkeypatch):
    from datetime import timedelta

    reply_id = make_approved_reply()
    relay = OutboxRelay(db, redis_url)
    relay.step()
    redis.Redis.from_url(redis_url).flushdb()  # Redis restarted without its data
    monkeypatch.setattr(relay_mod, "LOST_JOB_AFTER", timedelta(seconds=-1))
    relay.step()  # notices the job is gone: back to pending
    relay.step()  # and enqueues it again
    q = Queue("publish", connection=redis.Redis.from_url(redis_url))
    assert q.job_ids == [reply_id]
