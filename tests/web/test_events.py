"""The live event hub is safe to publish to from FastAPI's thread pool (plain ``def`` routes)."""

from __future__ import annotations

import asyncio
import threading

from starlette.concurrency import run_in_threadpool

from bot.web.events import EventHub


async def test_publish_from_a_worker_thread_reaches_the_subscriber() -> None:
    # Debug mode makes asyncio refuse loop calls from other threads (as they would corrupt it):
    # a hub that touched its queues from the worker thread raises there.
    asyncio.get_running_loop().set_debug(True)
    hub = EventHub()
    queue = hub.subscribe("c1")
    waiting = asyncio.create_task(queue.get())  # a WebSocket waiting for the next event
    await asyncio.sleep(0)
    threads: list[int] = []

    def route_in_thread_pool() -> None:
        threads.append(threading.get_ident())
        hub.publish("c1", {"type": "message", "n": 1})

    await run_in_threadpool(route_in_thread_pool)
    event = await asyncio.wait_for(waiting, timeout=2)
    assert event == {"type": "message", "n": 1}
    assert threads and threads[0] != threading.get_ident()  # it really ran elsewhere


async def test_publish_on_the_loop_is_delivered_at_once() -> None:
    hub = EventHub()
    queue = hub.subscribe("c1")
    hub.publish("c1", {"n": 2})
    assert queue.get_nowait() == {"n": 2}  # no hop through call_soon: nothing to await


def test_publish_without_a_loop_or_subscribers_does_nothing() -> None:
    hub = EventHub()
    hub.publish("nobody", {"n": 3})
    assert hub.subscribers("nobody") == 0


async def test_each_subscriber_gets_events_on_its_own_loop() -> None:
    """Two apps (TestClients) sharing one hub run two event loops: each queue keeps its own."""
    asyncio.get_running_loop().set_debug(True)
    hub = EventHub()
    here = hub.subscribe("c1")
    other_loop = asyncio.new_event_loop()
    other_loop.set_debug(True)
    thread = threading.Thread(target=other_loop.run_forever, daemon=True)
    thread.start()
    try:

        async def subscribe_and_wait() -> dict[str, object]:
            queue = hub.subscribe("c1")
            return await asyncio.wait_for(queue.get(), timeout=2)

        there = asyncio.run_coroutine_threadsafe(subscribe_and_wait(), other_loop)
        while hub.subscribers("c1") < 2:
            await asyncio.sleep(0.01)
        hub.publish("c1", {"n": 4})  # from this loop: the other queue is fed on its loop
        assert await asyncio.wait_for(here.get(), timeout=2) == {"n": 4}
        assert await asyncio.wrap_future(there) == {"n": 4}
    finally:
        other_loop.call_soon_threadsafe(other_loop.stop)
        thread.join(timeout=2)
        other_loop.close()
