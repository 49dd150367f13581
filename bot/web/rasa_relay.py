"""The web app's client of the Rasa servers (the ``rest_meta`` channel).

One ``httpx.AsyncClient`` per app, ``timeout=`` on every call. ``RASA_URL`` may name several
Rasa replicas (comma-separated, production profile); all share one tracker store and one lock
store, so any replica can take any turn. The relay

* keeps a conversation on one replica (``crc32(conversation id) mod n``), which spreads
  conversations evenly and lets a replica's lock store rarely wait for another's;
* keeps one conversation's turns in order: in this process a conversation's turns wait for
  each other (a lock per conversation); across web app instances Rasa's lock store does;
* retries a turn on the next replica when its replica cannot be reached or dies during the
  turn (connection refused, reset, closed), and takes a failed replica out of the rotation for
  :data:`DOWN_FOR_S`. The retry carries the same ``message_id`` and ``retry: true``; a replica
  that finds the turn already in the tracker (the dead one saved it just before dying) answers
  with the stored bot messages instead of handling it twice (``channels/server_patches.py``).
  A timeout is not retried: the replica may still be working on the turn.

Errors::

    RasaError
     ├── RasaUnavailable   no replica could be reached, one timed out, or answered 5xx
     └── RasaRejected      Rasa answered 4xx (the web app sent something invalid)
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from bot.observability.logs import outgoing_headers

logger = logging.getLogger(__name__)

# A turn includes NLU, the action server and possibly the calculator: normally < 0.1 s, but a
# cold model or a slow calculator (3 s client timeout plus retries) may take a few seconds.
TIMEOUT: Final = httpx.Timeout(15.0, connect=2.0)
# How long a replica that failed stays out of the rotation (s). Short: a restarted replica is
# back in use a few seconds after it answers again; a dead one costs one failed connect each.
DOWN_FOR_S: Final = 5.0
# Failures that mean "this replica did not (or not visibly) handle the turn": safe to retry
# elsewhere thanks to the message id. Timeouts are not among them.
_RETRYABLE: Final = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError,
                     httpx.WriteError, httpx.PoolTimeout)


class RasaError(Exception):
    """The Rasa server could not handle a message."""


class RasaUnavailable(RasaError):
    """Rasa cannot be reached, timed out, or failed (5xx)."""


class RasaRejected(RasaError):
    """Rasa answered 4xx."""


@dataclass(frozen=True)
class BotMessage:
    """One bot message of a turn, with its metadata (``faq_id``, ``handoff``, ``decision``, …)."""

    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Replica:
    """One Rasa server and when it may be tried again after a failure."""

    url: str
    down_until: float = 0.0
    failures: int = 0


class RasaRelay:
    """Sends a customer message to a Rasa replica and returns the bot's messages."""

    def __init__(
        self,
        base_urls: str | Sequence[str],
        client: httpx.AsyncClient | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        token: str | None = None,
    ) -> None:
        urls = base_urls.split(",") if isinstance(base_urls, str) else list(base_urls)
        self.replicas = [Replica(u.strip().rstrip("/")) for u in urls if u.strip()]
        if not self.replicas:
            raise ValueError("RASA_URL names no Rasa server")
        self._client = client or httpx.AsyncClient(timeout=TIMEOUT)
        self._clock = clock
        # RASA_TOKEN: our channel accepts turns only with it (channels/rest_with_metadata.py).
        self._auth = {"Authorization": f"Bearer {token}"} if token else {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}

    def order(self, sender: str) -> list[Replica]:
        """Replicas in the order a turn of ``sender`` tries them: its own first, then the rest.

        Replicas marked down go last (they are still tried when all others fail).
        """
        n = len(self.replicas)
        start = zlib.crc32(sender.encode("utf-8")) % n
        ring = [self.replicas[(start + i) % n] for i in range(n)]
        now = self._clock()
        return [r for r in ring if r.down_until <= now] + [r for r in ring if r.down_until > now]

    async def send(
        self,
        sender: str,
        text: str,
        metadata: dict[str, Any] | None = None,
        *,
        message_id: str | None = None,
    ) -> list[BotMessage]:
        """Relay one message; returns the bot's answer messages in order.

        ``message_id`` identifies the customer message (the web app passes conversation id and
        sequence number); it makes a retry on another replica safe.
        """
        self._waiting[sender] = self._waiting.get(sender, 0) + 1
        lock = self._locks.setdefault(sender, asyncio.Lock())
        try:
            async with lock:
                return await self._send(sender, text, metadata or {}, message_id)
        finally:
            self._waiting[sender] -= 1
            if not self._waiting[sender]:  # nobody else queued behind: forget the lock
                del self._waiting[sender]
                self._locks.pop(sender, None)

    async def _send(
        self, sender: str, text: str, metadata: dict[str, Any], message_id: str | None
    ) -> list[BotMessage]:
        body: dict[str, Any] = {"sender": sender, "message": text, "metadata": metadata}
        if message_id:
            body["message_id"] = message_id
        last_error: Exception | None = None
        replicas = self.order(sender)
        if len(replicas) == 1:  # one server (the demo): a second try rides out its restart
            replicas *= 2
        for attempt, replica in enumerate(replicas):
            if attempt:
                # Only a turn with an id may be retried: without one a replica could not tell
                # a turn it already handled from a new one.
                if not message_id:
                    break
                body["metadata"] = {**metadata, "retry": True}
            try:
                response = await self._client.post(
                    f"{replica.url}/webhooks/rest_meta/webhook", json=body, timeout=TIMEOUT,
                    # The turn's X-Request-ID (bot/observability) and the token.
                    headers={**outgoing_headers(), **self._auth},
                )
            except (*_RETRYABLE, AttributeError) as exc:
                # AttributeError: anyio (under httpcore) asks a socket the dying replica closed
                # during the connect for its peer ('NoneType' object has no attribute
                # 'getpeername'); that is a failed connect, not a bug of ours, and was a 500.
                self._mark_down(replica, exc)
                last_error = exc
                continue
            except httpx.HTTPError as exc:  # a timeout: the replica may still be on it
                raise RasaUnavailable(f"Rasa at {replica.url} failed: {exc!r}") from exc
            if response.status_code in (502, 503, 504):
                # 503 is the channel's "handling failed" (e.g. its tracker store is away);
                # the other replica may still work.
                self._mark_down(replica, RuntimeError(f"HTTP {response.status_code}"))
                last_error = RasaUnavailable(f"Rasa at {replica.url} answered "
                                             f"{response.status_code}")
                continue
            replica.down_until, replica.failures = 0.0, 0
            return _messages(replica.url, response)
        raise RasaUnavailable(f"no Rasa replica could handle the turn: {last_error!r}")

    def _mark_down(self, replica: Replica, exc: Exception) -> None:
        replica.failures += 1
        replica.down_until = self._clock() + DOWN_FOR_S
        logger.warning("Rasa replica %s failed (%s); trying the next one", replica.url,
                       type(exc).__name__)

    async def ready(self) -> list[str]:
        """Problems of the replicas (empty when at least one answers its readiness check)."""
        problems = []
        for replica in self.replicas:
            try:
                response = await self._client.get(
                    f"{replica.url}/webhooks/rest_meta/ready", timeout=2.0
                )
            except httpx.HTTPError as exc:
                problems.append(f"{replica.url}: {type(exc).__name__}")
                continue
            if response.status_code == 200:
                return []
            problems.append(f"{replica.url}: HTTP {response.status_code}")
        return problems

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()


def _messages(url: str, response: httpx.Response) -> list[BotMessage]:
    if response.status_code >= 500:
        raise RasaUnavailable(f"Rasa at {url} answered {response.status_code}")
    if response.status_code >= 400:
        raise RasaRejected(f"Rasa answered {response.status_code}: {response.text[:200]}")
    try:
        items = response.json()
    except ValueError as exc:
        raise RasaUnavailable("Rasa answered no JSON") from exc
    messages = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not item.get("text"):
            continue
        messages.append(
            BotMessage(
                text=str(item["text"]),
                buttons=[b for b in item.get("buttons") or [] if isinstance(b, dict)],
                metadata=dict(item.get("metadata") or {}),
            )
        )
    return messages
