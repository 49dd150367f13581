"""A Redis lock store for several Rasa replicas that survives a replica's death (issue 6).

Rasa's ``RedisLockStore`` serialises a conversation's turns with tickets, but

* a replica killed during a turn leaves its ticket behind until the ticket's lifetime ends
  (``TICKET_LOCK_LIFETIME``, 60 s by default): the retried turn on the other replica waits that
  long, far beyond the web app's 15 s timeout;
* issuing, finishing and pruning tickets are read-modify-write cycles without a transaction:
  two replicas working on one conversation at once can overwrite each other's ticket;
* it waits 1 s between looks at the lock and blocks the event loop up to 10 s per Redis call
  when Redis is away.

This store keeps Rasa's ticket algorithm and key layout, and adds:

* **owners**: each ticket records the replica that holds it; every replica refreshes a
  heartbeat key (``HEARTBEAT_TTL_S``) from a background thread, and a ticket whose owner's
  heartbeat expired is dropped, so a dead replica's turn is given up within seconds;
* **transactions**: every change is a ``WATCH``/``MULTI`` cycle that starts again on conflict;
* a **50 ms** wait between looks at the lock, and short socket timeouts (fail fast).

Configured in ``endpoints.production.yml``::

    lock_store:
      type: channels.lock_store.ReplicaLockStore
      url: ${LOCK_STORE_HOST}
      port: ${LOCK_STORE_PORT}
      db: ${LOCK_STORE_DB}
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from typing import Any, Final, TypeVar

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

KEY_PREFIX: Final = "lock:"  # Rasa's own prefix: the same keys as RedisLockStore
HEARTBEAT_PREFIX: Final = "lock-replica:"
# A replica that has not refreshed its heartbeat for this long is dead (s). The thread refreshes
# it every third of that; a stalled event loop does not stop the thread.
HEARTBEAT_TTL_S: Final = 3.0
# Pause between two looks at a busy lock (s): a conversation's next turn starts at most this
# much after the previous one ends. Rasa's 1 s made every queued turn wait a second.
WAIT_S: Final = 0.05
# Redis on the same network answers in well under a millisecond; a longer silence means it is
# away, and the turn fails at once instead of holding the event loop (s).
SOCKET_TIMEOUT_S: Final = 1.0
CONNECT_TIMEOUT_S: Final = 0.5

T = TypeVar("T")


def replica_name() -> str:
    """A name for this process, unique even when a restarted pod reuses the host name."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class ReplicaLockStore(LockStore):
    """Ticket locks in Redis whose tickets die with the replica that holds them."""

    def __init__(
        self,
        endpoint_config: EndpointConfig | None = None,
        *,
        client: redis.Redis[bytes] | None = None,
        replica: str | None = None,
        heartbeat_ttl_s: float = HEARTBEAT_TTL_S,
        wait_s: float = WAIT_S,
    ) -> None:
        """Connect (lazily) to the Redis of ``endpoint_config`` and start the heartbeat.

        Args:
            endpoint_config: ``url`` (host), ``port``, ``db``, ``password`` from endpoints.yml.
            client: a ready Redis client (tests); overrides ``endpoint_config``.
            replica: this replica's name (default: host, pid and a random suffix).
            heartbeat_ttl_s: after this long without a heartbeat a replica counts as dead.
            wait_s: pause between looks at a busy lock.
        """
        if client is None:
            kwargs = endpoint_config.kwargs if endpoint_config else {}
            client = redis.Redis(
                host=(endpoint_config.url if endpoint_config else None) or "localhost",
                port=int(kwargs.get("port") or 6379),
                db=int(kwargs.get("db") or 1),
                password=kwargs.get("password") or None,
                socket_timeout=SOCKET_TIMEOUT_S,
                socket_connect_timeout=CONNECT_TIMEOUT_S,
            )
        self.red = client
        self.replica = replica or replica_name()
        self.heartbeat_ttl_s = heartbeat_ttl_s
        self.wait_s = wait_s
        self._stop = threading.Event()
        self._beat_thread = threading.Thread(
            target=self._beat_forever, name="lock-heartbeat", daemon=True
        )
        self.beat()
        self._beat_thread.start()
        super().__init__()

    # --- heartbeat ---------------------------------------------------------------------------

    def beat(self) -> bool:
        """Refresh this replica's heartbeat; False when Redis is away."""
        try:
            self.red.set(HEARTBEAT_PREFIX + self.replica, "1",
                         px=int(self.heartbeat_ttl_s * 1000))
            return True
        except redis.RedisError as exc:
            logger.warning("lock store heartbeat failed: %s", exc)
            return False

    def _beat_forever(self) -> None:
        while not self._stop.wait(self.heartbeat_ttl_s / 3):
            self.beat()

    def stop(self) -> None:
        """Stop the heartbeat and remove it (a clean shutdown frees its tickets at once)."""
        self._stop.set()
        with contextlib.suppress(redis.RedisError):
            self.red.delete(HEARTBEAT_PREFIX + self.replica)

    # --- storage: one JSON document per conversation -------------------------------------

    @staticmethod
    def _key(conversation_id: str) -> str:
        return KEY_PREFIX + conversation_id

    def _change(
        self, conversation_id: str, change: Callable[[dict[str, Any] | None], tuple[Any, T]]
    ) -> T:
        """Apply ``change`` to the stored lock in a transaction (again on conflict).

        ``change`` gets the stored document (or ``None``) and returns the new document (``None``
        deletes it) and a result.
        """
        key = self._key(conversation_id)
        try:
            with self.red.pipeline() as pipe:
                while True:
                    try:
                        pipe.watch(key)
                        # After WATCH the pipeline executes at once (redis-py): a value, not a
                        # queued command.
                        raw: Any = pipe.get(key)
                        document, result = change(json.loads(raw) if raw else None)
                        pipe.multi()
                        if document is None:
                            pipe.delete(key)
                        else:
                            pipe.set(key, json.dumps(document))
                        pipe.execute()
                        return result
                    except redis.WatchError:
                        continue
        except redis.RedisError as exc:
            raise LockError(f"lock store unavailable: {exc}") from exc

    def _prune(self, document: dict[str, Any]) -> dict[str, Any]:
        """Drop expired tickets and those of replicas without a heartbeat."""
        now = time.time()
        tickets = [json.loads(t) for t in document.get("tickets", [])]
        owners: dict[str, str] = document.get("owners", {})
        # Only other replicas' heartbeats need looking up (usually none: one turn at a time).
        names = sorted({owners[str(t["number"])] for t in tickets if str(t["number"]) in owners}
                       - {self.replica})
        beats = self.red.mget([HEARTBEAT_PREFIX + n for n in names]) if names else []
        alive = {n for n, beat in zip(names, beats, strict=True) if beat is not None}
        alive.add(self.replica)  # this process is alive, whatever Redis last heard
        kept = [
            t for t in tickets
            if t["expires"] >= now and owners.get(str(t["number"]), self.replica) in alive
        ]
        dropped = len(tickets) - len(kept)
        if dropped:
            logger.info("lock of %s: dropped %d ticket(s) of dead replicas or expired",
                        document.get("conversation_id"), dropped)
        numbers = {str(t["number"]) for t in kept}
        return {
            "conversation_id": document.get("conversation_id"),
            "tickets": [json.dumps({"number": t["number"], "expires": t["expires"]})
                        for t in kept],
            "owners": {n: o for n, o in owners.items() if n in numbers},
        }

    # --- Rasa's LockStore interface ------------------------------------------------------------

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        """The conversation's lock (owners are kept apart from Rasa's ``TicketLock``)."""
        try:
            raw = self.red.get(self._key(conversation_id))
        except redis.RedisError as exc:
            raise LockError(f"lock store unavailable: {exc}") from exc
        return TicketLock.from_dict(json.loads(raw)) if raw else None

    def delete_lock(self, conversation_id: str) -> None:
        """Delete the conversation's lock."""
        try:
            self.red.delete(self._key(conversation_id))
        except redis.RedisError as exc:
            raise LockError(f"lock store unavailable: {exc}") from exc

    def save_lock(self, lock: TicketLock) -> None:
        """Store ``lock``'s tickets, keeping the owners of those that remain."""

        def change(document: dict[str, Any] | None) -> tuple[dict[str, Any], None]:
            owners = (document or {}).get("owners", {})
            saved = json.loads(lock.dumps())
            numbers = {str(t.number) for t in lock.tickets}
            saved["owners"] = {n: o for n, o in owners.items() if n in numbers}
            return saved, None

        self._change(lock.conversation_id, change)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """A new ticket held by this replica (atomic)."""

        def change(document: dict[str, Any] | None) -> tuple[dict[str, Any], int]:
            current = self._prune(document or {"conversation_id": conversation_id})
            numbers = [json.loads(t)["number"] for t in current["tickets"]]
            number = (numbers[-1] + 1) if numbers else 0
            current["tickets"].append(
                json.dumps({"number": number, "expires": time.time() + lock_lifetime})
            )
            current["owners"][str(number)] = self.replica
            return current, number

        return self._change(conversation_id, change)

    def update_lock(self, conversation_id: str) -> None:
        """Drop expired tickets and those of dead replicas (atomic)."""

        def change(document: dict[str, Any] | None) -> tuple[dict[str, Any] | None, None]:
            if document is None:
                return None, None
            return self._prune(document), None

        self._change(conversation_id, change)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Remove the ticket; the lock goes when no ticket is left (atomic)."""
        self._remove(conversation_id, ticket_number)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Remove the ticket and, in the same transaction, the lock if nobody waits."""
        self._remove(conversation_id, ticket_number)

    def _remove(self, conversation_id: str, ticket_number: int) -> None:
        def change(document: dict[str, Any] | None) -> tuple[dict[str, Any] | None, None]:
            if document is None:
                return None, None
            document = {
                **document,
                "tickets": [t for t in document.get("tickets", [])
                            if json.loads(t)["number"] != ticket_number],
            }
            current = self._prune(document)
            return (current if current["tickets"] else None), None

        self._change(conversation_id, change)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float | None = None,
    ) -> AsyncGenerator[TicketLock, None]:
        """Rasa's ticket lock, looking every ``wait_s`` instead of every second."""
        async with super().lock(
            conversation_id, lock_lifetime, wait_time_in_seconds or self.wait_s
        ) as ticket_lock:
            yield ticket_lock
