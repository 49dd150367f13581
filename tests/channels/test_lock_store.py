"""The replica-aware lock store against the Redis server on this machine (a real connection)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid

import pytest
import redis
from rasa.core.lock_store import LockError

from channels.lock_store import HEARTBEAT_PREFIX, KEY_PREFIX, ReplicaLockStore

REDIS_DB = 14  # apart from a running demo's lock store (db 1)


@pytest.fixture
def red():
    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis must run on 127.0.0.1:6379 ({exc})")
    yield client
    client.close()


@pytest.fixture
def stores(red):
    made = []

    def make(name, ttl=0.6):
        store = ReplicaLockStore(client=red, replica=f"{name}-{uuid.uuid4().hex[:6]}",
                                 heartbeat_ttl_s=ttl)
        made.append(store)
        return store

    yield make
    for store in made:
        store.stop()


def cid():
    return f"test-{uuid.uuid4().hex}"


async def test_turns_of_one_conversation_wait_for_each_other_across_replicas(stores, red):
    a, b = stores("a"), stores("b")
    conversation = cid()
    order = []

    async def turn(store, name, hold):
        async with store.lock(conversation):
            order.append(f"{name} start")
            await asyncio.sleep(hold)
            order.append(f"{name} end")

    await asyncio.gather(turn(a, "a", 0.2), asyncio.sleep(0.02))
    task_a = asyncio.create_task(turn(a, "a2", 0.2))
    await asyncio.sleep(0.02)
    task_b = asyncio.create_task(turn(b, "b", 0.0))
    await asyncio.gather(task_a, task_b)
    assert order == ["a start", "a end", "a2 start", "a2 end", "b start", "b end"]
    assert red.get(KEY_PREFIX + conversation) is None  # the last one out removes the lock


async def test_a_dead_replicas_ticket_is_dropped_within_its_heartbeat(stores, red):
    dead, alive = stores("dead", ttl=0.6), stores("alive", ttl=0.6)
    conversation = cid()
    dead.issue_ticket(conversation)  # a turn that started …
    dead._stop.set()  # … and then the process died (kill -9): no more heartbeats, no cleanup
    started = time.monotonic()
    async with alive.lock(conversation):
        waited = time.monotonic() - started
    assert 0.3 < waited < 2.0  # far below Rasa's 60 s ticket lifetime
    assert red.get(HEARTBEAT_PREFIX + dead.replica) is None


async def test_a_live_replicas_ticket_is_respected_however_long(stores):
    slow, other = stores("slow", ttl=0.3), stores("other", ttl=0.3)
    conversation = cid()
    ticket = slow.issue_ticket(conversation)
    waiter = asyncio.create_task(_take(other, conversation))
    await asyncio.sleep(1.0)  # three heartbeat lifetimes: slow is alive, so other waits
    assert not waiter.done()
    slow.cleanup(conversation, ticket)
    await asyncio.wait_for(waiter, 2)


async def _take(store, conversation):
    async with store.lock(conversation):
        pass


def test_concurrent_tickets_are_unique(stores, red):
    replicas = [stores(f"r{i}") for i in range(4)]
    conversation = cid()
    numbers = []

    def issue(store):
        for _ in range(25):
            numbers.append(store.issue_ticket(conversation))

    threads = [threading.Thread(target=issue, args=(s,)) for s in replicas]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(numbers) == list(range(100))
    stored = json.loads(red.get(KEY_PREFIX + conversation))
    assert len(stored["tickets"]) == 100 and len(stored["owners"]) == 100
    red.delete(KEY_PREFIX + conversation)


def test_redis_away_fails_fast_with_a_lock_error():
    away = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5, socket_timeout=0.5)
    store = ReplicaLockStore(client=away, replica="lonely")
    try:
        started = time.monotonic()
        with pytest.raises(LockError):
            store.issue_ticket(cid())
        assert time.monotonic() - started < 2
    finally:
        store.stop()


def test_configured_from_endpoints_like_rasa_does(red):
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    config = EndpointConfig(url="127.0.0.1", type="channels.lock_store.ReplicaLockStore",
                            port=6379, db=REDIS_DB)
    store = LockStore.create(config)
    try:
        assert isinstance(store, ReplicaLockStore)
        assert store.red.connection_pool.connection_kwargs["db"] == REDIS_DB
        assert red.get(HEARTBEAT_PREFIX + store.replica) == b"1"
    finally:
        store.stop()
