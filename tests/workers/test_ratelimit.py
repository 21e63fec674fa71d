import logging

import redis

from connectors.ratelimit import LocalLimiter
from workers.ratelimit import RedisLimiter, SharedLimiter


def test_window_is_shared_between_connections(redis_url):
    a = RedisLimiter(redis.Redis.from_url(redis_url))
    b = RedisLimiter(redis.Redis.from_url(redis_url))
    taken = [a.try_acquire("vk:token1", 5, 1.0) if i % 2 else b.try_acquire("vk:token1", 5, 1.0)
             for i in range(5)]
    assert taken == [0.0] * 5
    wait = a.try_acquire("vk:token1", 5, 1.0)
    assert 0 < wait <= 1.0
    assert b.try_acquire("vk:token2", 5, 1.0) == 0.0  # another token has its own window


def _dead_redis() -> redis.Redis:
    # A port nothing listens on: connections are refused at once, as when Redis has gone away.
    return redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)


async def test_daemon_and_workers_share_one_window_per_token(redis_url):
    daemon = SharedLimiter(RedisLimiter(redis.Redis.from_url(redis_url)), LocalLimiter())
    worker = RedisLimiter(redis.Redis.from_url(redis_url))
    for _ in range(3):
        await daemon.wait("vk:shared-token", 5, 5.0)
    assert [worker.try_acquire("vk:shared-token", 5, 5.0) for _ in range(2)] == [0.0, 0.0]
    assert worker.try_acquire("vk:shared-token", 5, 5.0) > 0  # the daemon's three calls counted
    assert not daemon.local._calls  # nothing was kept locally while Redis answered


async def test_without_redis_the_daemon_keeps_a_local_window_and_says_so_once(caplog):
    local = LocalLimiter()
    limiter = SharedLimiter(RedisLimiter(_dead_redis()), local, retry_after=60.0)
    with caplog.at_level(logging.WARNING, logger="otklik.ratelimit"):
        for _ in range(3):
            await limiter.wait("ok:token", 10, 1.0)
    assert len(local._calls["ok:token"]) == 3
    assert [r.getMessage() for r in caplog.records].count(caplog.records[0].getMessage()) == 1
    assert "Redis unreachable" in caplog.records[0].getMessage()


async def test_shared_again_once_redis_answers(redis_url, caplog):
    limiter = SharedLimiter(RedisLimiter(_dead_redis()), LocalLimiter(), retry_after=0.0)
    await limiter.wait("tg:token", 10, 1.0)  # Redis away: local
    limiter.shared = RedisLimiter(redis.Redis.from_url(redis_url))  # ...and back (a new connection)
    with caplog.at_level(logging.INFO, logger="otklik.ratelimit"):
        await limiter.wait("tg:token", 10, 1.0)
    assert "reachable again" in caplog.text
    assert RedisLimiter(redis.Redis.from_url(redis_url)).conn.zcard("otklik:rate:tg:token") == 1


def test_the_daemon_gives_its_pollers_the_shared_limiter(tmp_path, redis_url):
    from otklik.daemon import Daemon
    from otklik.settings import Settings

    settings = Settings(
        var_dir=tmp_path,
        redis_url=redis_url,
        sources=[{"name": "tg", "platform": "telegram", "base_url": "http://127.0.0.1:9"}],
    )
    daemon = Daemon(settings)
    daemon.build_connectors()
    assert isinstance(daemon.limiter, SharedLimiter)
    assert daemon.connectors["tg"].limiter is daemon.limiter
