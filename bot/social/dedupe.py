"""Each message id processed once, although Meta delivers webhooks at least once.

Meta redelivers a webhook that was not answered ``200`` in time, and sometimes one that was;
two web app instances may receive the same message at the same moment. Before a message is
answered, the worker *claims* its id; only the first claim wins. After answering it marks the
claim *done*. A claim that was never marked done within :data:`STALE_AFTER` belonged to a
worker that died mid-way: the next delivery may claim it again, so the customer still gets an
answer (at the risk of a second answer, better than none).

:class:`ProcessedMessages` is the interface; :class:`MemoryProcessedMessages` serves a single
process and the tests, :class:`SqlProcessedMessages` every instance sharing a database: the
primary key ``(channel, message_id)`` makes the claim atomic on SQLite and PostgreSQL (an
``INSERT`` that loses the race fails with an integrity error, never a second row).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Final, Protocol

from sqlalchemy import Column, DateTime, MetaData, String, Table, and_, delete, insert, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

# A turn (Rasa, then the Graph API with its retries) takes seconds; a claim still open after
# five minutes belongs to a worker that is gone.
STALE_AFTER: Final = timedelta(minutes=5)
# Meta retries a webhook for up to 7 days (WhatsApp) and about 36 hours (Messenger): keep ids
# 8 days so no redelivery is answered twice (purge_older_than in phase 2's retention job).
KEEP_FOR: Final = timedelta(days=8)

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _stored(moment: datetime) -> datetime:
    """Naive UTC, as the web app stores every time (``bot.chat.models.UTCDateTime``)."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


class ProcessedMessages(Protocol):
    """Claims on message ids; one claim per id wins."""

    def claim(self, channel: str, message_id: str) -> bool:
        """Claim the id; True for the first claim (or one taking over a stale claim)."""
        ...

    def done(self, channel: str, message_id: str) -> None:
        """Mark the claimed id as answered: it is never claimed again."""
        ...


class MemoryProcessedMessages:
    """Claims in this process's memory: the newest ``capacity`` ids, for one web app instance.

    Args:
        capacity: how many ids are remembered; the oldest are forgotten first. 100,000 ids of
            about 60 characters are roughly 15 MB.
        clock: returns the current aware time (tests move it).
        stale_after: after this a claim that is not done can be taken over.
    """

    def __init__(
        self,
        capacity: int = 100_000,
        clock: Clock = _utc_now,
        stale_after: timedelta = STALE_AFTER,
    ) -> None:
        self._capacity = capacity
        self._clock = clock
        self._stale_after = stale_after
        # id -> (claimed at, done)
        self._claims: OrderedDict[tuple[str, str], tuple[datetime, bool]] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, channel: str, message_id: str) -> bool:
        """Claim the id; True for the first claim (or one taking over a stale claim)."""
        key = (channel, message_id)
        now = self._clock()
        with self._lock:
            found = self._claims.get(key)
            if found is not None:
                claimed_at, done = found
                if done or now - claimed_at < self._stale_after:
                    return False
            self._claims[key] = (now, False)
            self._claims.move_to_end(key)
            while len(self._claims) > self._capacity:
                self._claims.popitem(last=False)
            return True

    def done(self, channel: str, message_id: str) -> None:
        """Mark the claimed id as answered: it is never claimed again."""
        key = (channel, message_id)
        with self._lock:
            found = self._claims.get(key)
            self._claims[key] = (found[0] if found else self._clock(), True)


def define_table(metadata: MetaData, name: str = "social_processed_messages") -> Table:
    """Define the claims table in ``metadata`` (phase 2: the app's models and a migration).

    Columns: ``channel`` and ``message_id`` (the primary key: one row per id), ``claimed_at``
    and ``done_at`` (NULL until answered), times as naive UTC like the app's other tables.
    """
    return Table(
        name,
        metadata,
        Column("channel", String(16), primary_key=True),
        Column("message_id", String(512), primary_key=True),
        Column("claimed_at", DateTime(), nullable=False, index=True),
        Column("done_at", DateTime(), nullable=True),
    )


class SqlProcessedMessages:
    """Claims in a database table shared by every web app instance.

    Synchronous (one short transaction per call): async code calls it in a worker thread.

    Args:
        engine: the web app's engine (SQLite or PostgreSQL).
        table: the table of :func:`define_table`.
        clock: returns the current aware time.
        stale_after: after this a claim that is not done can be taken over.
    """

    def __init__(
        self,
        engine: Engine,
        table: Table,
        clock: Clock = _utc_now,
        stale_after: timedelta = STALE_AFTER,
    ) -> None:
        self._engine = engine
        self._table = table
        self._clock = clock
        self._stale_after = stale_after

    def claim(self, channel: str, message_id: str) -> bool:
        """Claim the id; True for the first claim (or one taking over a stale claim)."""
        table = self._table
        now = _stored(self._clock())
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    insert(table).values(channel=channel, message_id=message_id, claimed_at=now)
                )
            return True
        except IntegrityError:
            pass
        # The id is known. Take it over only if its claim is stale and not done; the WHERE
        # makes this atomic: of two workers taking over, one updates the row, the other none.
        with self._engine.begin() as connection:
            result = connection.execute(
                update(table)
                .where(
                    and_(
                        table.c.channel == channel,
                        table.c.message_id == message_id,
                        table.c.done_at.is_(None),
                        table.c.claimed_at < now - self._stale_after,
                    )
                )
                .values(claimed_at=now)
            )
            return bool(result.rowcount == 1)

    def done(self, channel: str, message_id: str) -> None:
        """Mark the claimed id as answered: it is never claimed again."""
        table = self._table
        with self._engine.begin() as connection:
            connection.execute(
                update(table)
                .where(and_(table.c.channel == channel, table.c.message_id == message_id))
                .values(done_at=_stored(self._clock()))
            )

    def purge_older_than(self, keep: timedelta = KEEP_FOR) -> int:
        """Delete claims older than ``keep`` (retention); return how many rows went."""
        table = self._table
        with self._engine.begin() as connection:
            cutoff = _stored(self._clock()) - keep
            result = connection.execute(delete(table).where(table.c.claimed_at < cutoff))
            return int(result.rowcount or 0)
