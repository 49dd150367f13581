"""Live events and rate limits shared between web app instances through the local Redis."""

from __future__ import annotations

import asyncio

import pytest
import redis

from bot.web.events import RedisEventHub
from bot.web.ratelimit import RedisRateLimiter
from tests.slots import redis_db

REDIS_URL = f"redis://127.0.0.1:6379/{redis_db(13)}"


@pytest.fixture
def red():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis must run on 127.0.0.1:6379 ({exc})")
    yield client
    client.close()


async def test_an_event_published_on_one_instance_reaches_the_other():
    a, b = RedisEventHub(REDIS_URL), RedisEventHub(REDIS_URL)
    await a.start()
    await b.start()
    try:
        await asyncio.wait_for(asyncio.gather(a.connected.wait(), b.connected.wait()), 5)
        on_a, on_b = a.subscribe("c1"), b.subscribe("c1")
        a.publish("c1", {"type": "message", "text": "Hallo"})
        assert on_a.get_nowait() == {"type": "message", "text": "Hallo"}  # locally at once
        assert await asyncio.wait_for(on_b.get(), 5) == {"type": "message", "text": "Hallo"}
        await asyncio.sleep(0.2)
        assert on_a.empty()  # its own event coming back through Redis is not delivered twice
        other = b.subscribe("c2")
        a.publish("c1", {"n": 2})
        assert await asyncio.wait_for(on_b.get(), 5) == {"n": 2}
        assert other.empty()  # only the conversation's own subscribers
    finally:
        await a.stop()
        await b.stop()


async def test_redis_away_delays_nothing_locally():
    hub = RedisEventHub("redis://127.0.0.1:1/0")
    await hub.start()
    try:
        queue = hub.subscribe("c1")
        hub.publish("c1", {"n": 1})
        assert queue.get_nowait() == {"n": 1}
        await asyncio.sleep(0.3)
        assert not hub.connected.is_set()
    finally:
        await hub.stop()


SECRET = b"test secret"


def test_two_instances_share_one_limit(red):
    name = f"test-{id(red)}"
    a = RedisRateLimiter(red, name, 3, key_secret=SECRET)
    b = RedisRateLimiter(red, name, 3, key_secret=SECRET)
    assert [a.allow("k"), b.allow("k"), a.allow("k")] == [True, True, True]
    assert b.allow("k") is False and a.exceeded("k") and b.exceeded("k")
    assert a.allow("other") is True
    red.delete(a.redis_key("k"), a.redis_key("other"))


def test_redis_never_sees_the_client_address(red):
    name = f"addr-{id(red)}"
    limiter = RedisRateLimiter(red, name, 2, key_secret=SECRET)
    limiter.hit("203.0.113.57")
    keys = [k.decode() for k in red.scan_iter(f"stadtwerk:ratelimit:{name}:*")]
    try:
        assert keys == [limiter.redis_key("203.0.113.57")]
        assert "203.0.113" not in keys[0] and len(keys[0].rsplit(":", 1)[1]) == 32
        # Keyed: another secret gives another key, so the address space cannot be hashed
        # through without the app's secret.
        other = RedisRateLimiter(red, name, 2, key_secret=b"another secret")
        assert other.redis_key("203.0.113.57") != keys[0]
        assert other.exceeded("203.0.113.57") is False
        assert limiter.exceeded("203.0.113.57") is False
        limiter.hit("203.0.113.57")
        assert limiter.exceeded("203.0.113.57") is True
    finally:
        red.delete(*keys)


def test_the_window_slides(red):
    now = [1000.0]
    limiter = RedisRateLimiter(red, f"slide-{id(now)}", 2, window_s=60, clock=lambda: now[0],
                               key_secret=SECRET)
    assert limiter.allow("k") and limiter.allow("k") and not limiter.allow("k")
    now[0] += 61
    assert limiter.allow("k")
    limiter.hit("k")
    assert limiter.exceeded("k")


def test_redis_away_falls_back_to_counting_in_this_process():
    away = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    limiter = RedisRateLimiter(away, "away", 2, key_secret=SECRET)
    assert [limiter.allow("k"), limiter.allow("k"), limiter.allow("k")] == [True, True, False]
