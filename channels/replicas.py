"""What lets several Rasa servers and action servers stand in for each other (issue 6).

Installed into the Rasa server by ``channels.rest_with_metadata`` (``install()``):

* **A retried turn is answered once.** The web app retries a turn on another Rasa replica when
  its replica died during the turn (``bot/web/rasa_relay.py``); the retry carries the customer
  message's id and ``metadata.retry``. If the dead replica had already saved the turn to the
  shared tracker store, this replica does not handle it again: it answers with the bot messages
  stored after that user message. The check runs inside the conversation's lock (Rasa's agent
  takes it before the processor runs) and only for retries, so a normal turn reads no extra
  tracker.
* **Several action servers.** ``ACTION_ENDPOINT_URL`` may name several action servers
  (comma-separated). Each call goes to the next one in turn; one that cannot be reached or
  drops the connection is skipped for the next. Running an action twice is harmless: actions
  only return events, and the first call's events never arrived.
* **Kept-alive connections.** Rasa opens a new HTTP session, and so a new TCP connection, for
  every call to the action server (``EndpointConfig.request``); here all calls share one
  session per event loop. A kept-alive connection the server closed meanwhile (a restarted
  action server) is retried once, on the same server when there is only one.

Both count into the server's metrics (``install(metrics)``: replayed turns, failovers, the
wait for a conversation's lock), and action server calls carry the turn's ``X-Request-ID``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from time import perf_counter
from typing import Any

import aiohttp
import ujson
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import BotUttered, Event, UserUttered
from rasa.utils.endpoints import (
    DEFAULT_REQUEST_TIMEOUT,
    ClientResponseError,
    EndpointConfig,
    concat_url,
)

from bot.observability.logs import outgoing_headers
from bot.observability.metrics import RasaMetrics

logger = logging.getLogger(__name__)

RETRY_KEY = "retry"
_rasa_handle_message = MessageProcessor.handle_message
_rasa_request = EndpointConfig.request
_turns: Iterator[int] = itertools.count()
_metrics: RasaMetrics | None = None
# When the channel received the turn being handled (perf_counter): the processor starts once
# Rasa holds the conversation's lock, so the difference is mostly the wait for that lock.
turn_started: ContextVar[float | None] = ContextVar("turn_started", default=None)
# One HTTP session (connection pool) per event loop of this process.
_sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}
# Connections kept open to the action servers: about the turns in flight at once.
POOL_SIZE = 100


def answered_before(events: list[Event], message_id: str) -> list[BotUttered] | None:
    """The bot messages that answered user message ``message_id``; ``None`` if never handled."""
    found: list[BotUttered] | None = None
    for event in events:
        if isinstance(event, UserUttered):
            if found is not None:
                break
            if event.message_id == message_id:
                found = []
        elif found is not None and isinstance(event, BotUttered):
            found.append(event)
    return found


async def _handle_message(
    self: MessageProcessor, message: UserMessage
) -> list[dict[str, Any]] | None:
    """Rasa's ``handle_message``, which replays a retried turn another replica already did."""
    started = turn_started.get()
    if _metrics is not None and started is not None:
        _metrics.turn_wait.observe(perf_counter() - started)
    if (message.metadata or {}).get(RETRY_KEY) and message.message_id:
        tracker = await self.tracker_store.retrieve(message.sender_id)
        stored = answered_before(list(tracker.events), message.message_id) if tracker else None
        if stored is not None:
            logger.info("turn %s was handled before this retry: replaying %d bot messages",
                        message.message_id, len(stored))
            if _metrics is not None:
                _metrics.replayed_turns.inc()
            for bot in stored:
                await message.output_channel.send_response(message.sender_id, bot.message())
            if isinstance(message.output_channel, CollectingOutputChannel):
                replayed: list[dict[str, Any]] = message.output_channel.messages
                return replayed
            return None
    result: list[dict[str, Any]] | None = await _rasa_handle_message(self, message)
    return result


def endpoint_urls(url: str | None) -> list[str]:
    """The URLs of an endpoint setting (one, or several comma-separated)."""
    return [u.strip() for u in (url or "").split(",") if u.strip()]


def _session() -> aiohttp.ClientSession:
    loop = asyncio.get_running_loop()
    session = _sessions.get(loop)
    if session is None or session.closed:
        session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(limit=POOL_SIZE),
        )
        _sessions[loop] = session
    return session


async def close_session(*_: Any) -> None:
    """Close this event loop's shared session (at server stop)."""
    session = _sessions.pop(asyncio.get_running_loop(), None)
    if session is not None:
        await session.close()


async def _request_one(
    config: EndpointConfig,
    url: str,
    method: str,
    subpath: str | None,
    content_type: str | None,
    compress: bool = False,
    **kwargs: Any,
) -> Any:
    """Rasa's ``EndpointConfig.request`` to ``url`` over the shared session.

    Same arguments and results as Rasa's: JSON (or ``None``), ``ClientResponseError`` from 400
    on. Endpoints with a CA file or basic auth take Rasa's own path.
    """
    if config.cafile or config.basic_auth:
        one = config.copy()
        one.url = url
        return await _rasa_request(one, method, subpath, content_type, compress=compress,
                                   **kwargs)
    headers = {"Content-Type": content_type} if content_type else {}
    headers.update(kwargs.pop("headers", None) or {})
    headers.update(config.headers or {})
    if "json" in kwargs and "data" not in kwargs:
        body = _encoded(kwargs["json"])
        if body is not None:
            del kwargs["json"]
            kwargs["data"] = body
            headers.setdefault("Content-Type", "application/json")
    async with _session().request(
        method,
        concat_url(url, subpath),
        headers=headers,
        params=config.combine_parameters(kwargs),
        compress=compress,
        **kwargs,
    ) as response:
        if response.status >= 400:
            raise ClientResponseError(
                response.status, response.reason, await response.content.read()
            )
        try:
            return await response.json()
        except aiohttp.ContentTypeError:
            return None


def _encoded(body: Any) -> bytes | None:
    """A request body as JSON, with ujson (``None``: leave it to aiohttp's ``json.dumps``).

    Every action call carries the whole tracker (about 90 kB after 20 turns); ujson (a
    dependency of Rasa) writes it in 60 % of the time ``json.dumps`` takes, 0.2 ms less of
    the Rasa server's CPU per call, and the action server reads the same values (floats
    round-trip exactly; tests/channels/test_replicas.py). A body ujson cannot write is left
    to aiohttp's ``json.dumps`` as before.
    """
    try:
        text: str = ujson.dumps(body)
    except (TypeError, ValueError, OverflowError):
        return None
    return text.encode()


async def _request(
    self: EndpointConfig,
    method: str = "post",
    subpath: str | None = None,
    content_type: str | None = "application/json",
    **kwargs: Any,
) -> Any:
    """Rasa's ``EndpointConfig.request``, spread over several comma-separated URLs.

    Every call carries the ``X-Request-ID`` of the turn being handled.
    """
    kwargs["headers"] = {**outgoing_headers(), **(kwargs.get("headers") or {})}
    urls = endpoint_urls(self.url) or [str(self.url)]
    attempts = urls if len(urls) > 1 else urls * 2  # one server: a second try on a new connection
    start = next(_turns)
    last_error: aiohttp.ClientConnectionError | None = None
    for i in range(len(attempts)):
        url = attempts[(start + i) % len(attempts)]
        try:
            return await _request_one(self, url, method, subpath, content_type, **dict(kwargs))
        except aiohttp.ClientConnectionError as exc:  # refused, reset, disconnected
            logger.warning("endpoint %s failed (%s); trying the next one", url,
                           type(exc).__name__)
            if _metrics is not None:
                _metrics.action_endpoint_failovers.inc()
            last_error = exc
    assert last_error is not None
    raise last_error


def install(metrics: RasaMetrics | None = None) -> None:
    """Install both in this process (idempotent); count into ``metrics`` if given."""
    global _metrics
    if metrics is not None:
        _metrics = metrics
    MessageProcessor.handle_message = _handle_message
    EndpointConfig.request = _request
