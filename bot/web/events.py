"""Live events of the web app: per-conversation and for the agents' console.

In-process publish/subscribe with one ``asyncio.Queue`` per WebSocket. A slow or dead
subscriber never blocks a publisher: its queue is bounded and it is dropped when full (the
client reconnects and catches up through ``GET …/messages?after=N``). The production profile
(issue 6) puts Redis pub/sub behind the same interface so instances reach each other.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

QUEUE_SIZE = 256  # events buffered per subscriber before it is considered dead
AGENTS = "__agents__"  # the channel of the agents' console


class EventHub:
    """Channels keyed by conversation id, plus :data:`AGENTS`."""

    def __init__(self) -> None:
        self._subscribers: defaultdict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)

    def subscribe(self, channel: str) -> asyncio.Queue[dict[str, Any]]:
        """A new queue receiving the channel's events."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._subscribers[channel].add(queue)
        return queue

    def unsubscribe(self, channel: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        """Stop delivering to ``queue``."""
        self._subscribers[channel].discard(queue)
        if not self._subscribers[channel]:
            self._subscribers.pop(channel, None)

    def publish(self, channel: str, event: dict[str, Any]) -> None:
        """Deliver ``event`` to every subscriber of ``channel`` (never blocks)."""
        for queue in list(self._subscribers.get(channel, ())):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self.unsubscribe(channel, queue)

    def subscribers(self, channel: str) -> int:
        """How many subscribers a channel has (for tests and metrics)."""
        return len(self._subscribers.get(channel, ()))


async def stream(websocket: WebSocket, queue: asyncio.Queue[dict[str, Any]]) -> None:
    """Send the queue's events to an accepted WebSocket until the client goes away.

    Reads the socket at the same time, so a closed browser tab ends the handler at once
    instead of when the next event finds the socket dead (client messages are ignored).
    """

    async def send() -> None:
        while True:
            await websocket.send_json(await queue.get())

    async def receive() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    tasks = {asyncio.create_task(send()), asyncio.create_task(receive())}
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, ConnectionError):
                task.result()
    finally:
        for task in tasks:
            task.cancel()
