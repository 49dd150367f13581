"""Live events of the web app: per-conversation and for the agents' console.

Channels: one per conversation (its customer's widget), :data:`AGENTS` (the queue and callback
requests, for every agent) and one per agent (:func:`agent_channel`: messages of the
conversations that agent holds). Agents learn only what they need: the waiting queue, and the
conversations they took, never another agent's chats or the assistant's.

In-process publish/subscribe with one ``asyncio.Queue`` per WebSocket. A slow or dead
subscriber never blocks a publisher: its queue is bounded and it is dropped when full (the
client reconnects and catches up through ``GET …/messages?after=N``).

With several web app instances (production profile) :class:`RedisEventHub` also sends every
event over Redis pub/sub, so an agent connected to one instance sees the customer connected to
another. Events are delivered locally at once and to the other instances through Redis; an
instance ignores its own events coming back. Redis being away delays nothing: events for other
instances are dropped meanwhile (their clients catch up by polling) and the hub reconnects by
itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
import weakref
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, Final

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from starlette.websockets import WebSocket, WebSocketDisconnect

logger = logging.getLogger(__name__)

QUEUE_SIZE = 256  # events buffered per subscriber before it is considered dead
# How often an agent's WebSocket checks that their session still exists (s): a logout, a
# password reset or a deactivation ends the live connection within this time.
SESSION_CHECK_S = 10.0
AGENTS = "__agents__"  # the queue and callback requests, for every agent's console


def agent_channel(agent_id: int) -> str:
    """The channel of one agent: messages of the conversations they hold."""
    return f"__agent__:{agent_id}"


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop of the calling thread, if it runs one."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class EventHub:
    """Channels keyed by conversation id, plus :data:`AGENTS`.

    Publishing is safe from any thread: routes that use the database run in FastAPI's thread
    pool, and ``asyncio.Queue`` is not thread-safe, so an event for a queue is handed to the
    event loop that queue belongs to (the loop its subscriber ran on).
    """

    def __init__(self) -> None:
        self._subscribers: defaultdict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        # Each queue's event loop (tests run several apps, each TestClient on its own loop).
        self._loops: weakref.WeakKeyDictionary[
            asyncio.Queue[dict[str, Any]], asyncio.AbstractEventLoop
        ] = weakref.WeakKeyDictionary()

    def subscribe(
        self, channel: str, queue: asyncio.Queue[dict[str, Any]] | None = None
    ) -> asyncio.Queue[dict[str, Any]]:
        """A queue receiving the channel's events: a new one, or ``queue`` (several channels)."""
        if queue is None:
            queue = asyncio.Queue(maxsize=QUEUE_SIZE)
        loop = _running_loop()
        if loop is not None:
            self._loops[queue] = loop
        self._subscribers[channel].add(queue)
        return queue

    def unsubscribe(self, channel: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        """Stop delivering to ``queue``."""
        self._subscribers[channel].discard(queue)
        if not self._subscribers[channel]:
            self._subscribers.pop(channel, None)

    def publish(self, channel: str, event: dict[str, Any]) -> None:
        """Deliver ``event`` to every subscriber of ``channel`` (never blocks, any thread)."""
        self._deliver_local(channel, event)

    def _deliver_local(self, channel: str, event: dict[str, Any]) -> None:
        current = _running_loop()
        for queue in list(self._subscribers.get(channel, ())):
            loop = self._loops.get(queue)
            if loop is not None and loop is not current and not loop.is_closed():
                loop.call_soon_threadsafe(self._put, channel, queue, event)
            else:
                self._put(channel, queue, event)

    def _put(
        self, channel: str, queue: asyncio.Queue[dict[str, Any]], event: dict[str, Any]
    ) -> None:
        if queue not in self._subscribers.get(channel, ()):
            return  # unsubscribed while the event was on its way to the loop
        try:
            queue.put_nowait(event)
        except asyncio.QueueFull:
            self.unsubscribe(channel, queue)

    def subscribers(self, channel: str) -> int:
        """How many subscribers a channel has (for tests and metrics)."""
        return len(self._subscribers.get(channel, ()))


REDIS_CHANNEL: Final = "stadtwerk:web-events"
# Events waiting to go out to Redis; beyond this (Redis away for long) the oldest are dropped.
OUTBOX_SIZE: Final = 10_000
# Pause before reconnecting to Redis after a failure (s), doubled up to the maximum.
RECONNECT_S: Final = 0.5
RECONNECT_MAX_S: Final = 5.0


class RedisEventHub(EventHub):
    """:class:`EventHub` whose events also reach the other web app instances over Redis."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.instance = uuid.uuid4().hex
        self._outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=OUTBOX_SIZE)
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None  # the sending loop (start)
        self.connected = asyncio.Event()  # the subscription is up (tests, readiness)

    def publish(self, channel: str, event: dict[str, Any]) -> None:
        """Deliver locally, and queue for the other instances (never blocks, any thread)."""
        self._deliver_local(channel, event)
        message = json.dumps({"origin": self.instance, "channel": channel, "event": event})
        loop = self._loop
        if loop is not None and loop is not _running_loop() and not loop.is_closed():
            loop.call_soon_threadsafe(self._send_later, message)
        else:
            self._send_later(message)

    def _send_later(self, message: str) -> None:
        """Queue ``message`` for Redis (on the loop that sends)."""
        try:
            self._outbox.put_nowait(message)
        except asyncio.QueueFull:
            self._outbox.get_nowait()  # the oldest goes: clients catch up by polling
            self._outbox.put_nowait(message)

    async def start(self) -> None:
        """Start sending and receiving (call on the running event loop)."""
        self._loop = asyncio.get_running_loop()
        self._tasks = [asyncio.create_task(self._send_forever()),
                       asyncio.create_task(self._receive_forever())]

    async def stop(self) -> None:
        """Stop both tasks."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    def _client(self) -> aioredis.Redis[Any]:
        return aioredis.Redis.from_url(self.url, socket_connect_timeout=1.0,
                                       socket_timeout=None, health_check_interval=10)

    async def _send_forever(self) -> None:
        pause = RECONNECT_S
        while True:
            client = self._client()
            try:
                while True:
                    message = await self._outbox.get()
                    await client.publish(REDIS_CHANNEL, message)
                    pause = RECONNECT_S
            except (RedisError, OSError) as exc:
                logger.warning("live events: publishing to Redis failed (%s)", exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, RECONNECT_MAX_S)
            finally:
                await client.close()

    async def _receive_forever(self) -> None:
        pause = RECONNECT_S
        while True:
            client = self._client()
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(REDIS_CHANNEL)
                self.connected.set()
                pause = RECONNECT_S
                async for message in pubsub.listen():
                    self._deliver(message.get("data"))
            except (RedisError, OSError) as exc:
                logger.warning("live events: the Redis subscription failed (%s)", exc)
            finally:
                self.connected.clear()
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.close()
                await client.close()
            await asyncio.sleep(pause)
            pause = min(pause * 2, RECONNECT_MAX_S)

    def _deliver(self, data: Any) -> None:
        try:
            message = json.loads(data)
            if message["origin"] == self.instance:
                return
            self._deliver_local(str(message["channel"]), dict(message["event"]))
        except (ValueError, KeyError, TypeError):
            logger.warning("live events: ignored a malformed message from Redis")


async def stream(
    websocket: WebSocket,
    queue: asyncio.Queue[dict[str, Any]],
    *,
    alive: Callable[[], Awaitable[bool]] | None = None,
    check_every_s: float | None = None,
) -> bool:
    """Send the queue's events to an accepted WebSocket until the client goes away.

    Reads the socket at the same time, so a closed browser tab ends the handler at once
    instead of when the next event finds the socket dead (client messages are ignored).
    With ``alive`` (a logged-in user's session is still valid) the stream also ends, within
    ``check_every_s`` (default :data:`SESSION_CHECK_S`), once it answers False.

    Returns:
        False when it ended because ``alive`` said so (the caller closes with its code).
    """

    async def send() -> None:
        while True:
            await websocket.send_json(await queue.get())

    async def receive() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    every = SESSION_CHECK_S if check_every_s is None else check_every_s

    async def watch() -> None:
        while alive is not None and await alive():
            await asyncio.sleep(every)

    tasks = {asyncio.create_task(send()), asyncio.create_task(receive())}
    watcher = asyncio.create_task(watch()) if alive is not None else None
    if watcher is not None:
        tasks.add(watcher)
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, ConnectionError):
                task.result()
        return watcher is None or watcher not in done
    finally:
        for task in tasks:
            task.cancel()
