import redis

from workers.ratelimit import RedisLimiter


def test_window_is_shared_between_connections(redis_url):
    a = RedisLimiter(redis.Redis.from_url(redis_url))
    b = RedisLimiter(redis.Redis.from_url(redis_url))
    taken = [a.try_acquire("vk:token1", 5, 1.0) if i % 2 else b.try_acquire("vk:token1", 5, 1.0)
             for i in range(5)]
    assert taken == [0.0] * 5
    wait = a.try_acquire("vk:token1", 5, 1.0)
    assert 0 < wait <= 1.0
    assert b.try_acquire("vk:token2", 5, 1.0) == 0.0  # another token has its own window
