"""Deleting Rasa trackers: one conversation's, or all older than a date (privacy, issue 6).

Rasa 3.6 has no way to delete a tracker: ``PUT /conversations/{id}/tracker/events`` with no
events empties the in-memory store's tracker, but the SQL tracker store only ever appends, so
the events stayed in PostgreSQL. These functions work on the two stores this project uses
(in memory for the demo, SQL in production) and say so for any other.
"""

from __future__ import annotations

from typing import Any

from rasa.core.tracker_store import (
    AwaitableTrackerStore,
    FailSafeTrackerStore,
    InMemoryTrackerStore,
    SQLTrackerStore,
    TrackerStore,
)
from sqlalchemy import func, text


class UnsupportedStore(Exception):
    """The tracker store is neither the in-memory nor the SQL store."""


def _inner(store: TrackerStore) -> TrackerStore:
    """The store behind Rasa's wrappers (awaitable, fail-safe)."""
    while isinstance(store, AwaitableTrackerStore | FailSafeTrackerStore):
        store = store._tracker_store
    return store


async def check_tracker_store(store: TrackerStore) -> None:
    """Raise if the tracker store cannot be used right now (readiness).

    Rasa's fail-safe wrapper would hide a failing database behind an in-memory fallback, so
    the check asks the store behind it.
    """
    inner = _inner(store)
    if isinstance(inner, SQLTrackerStore):
        with inner.session_scope() as session:
            session.execute(text("SELECT 1"))
        return
    await inner.retrieve("__readiness__")


async def delete_tracker(store: TrackerStore, sender_id: str) -> int:
    """Delete every event of ``sender_id``; returns how many (in memory: 1 or 0 trackers)."""
    inner = _inner(store)
    if isinstance(inner, SQLTrackerStore):
        with inner.session_scope() as session:
            deleted: int = (
                session.query(inner.SQLEvent)
                .filter(inner.SQLEvent.sender_id == sender_id)
                .delete(synchronize_session=False)
            )
            session.commit()
            return deleted
    if isinstance(inner, InMemoryTrackerStore):
        return 1 if inner.store.pop(sender_id, None) is not None else 0
    raise UnsupportedStore(type(inner).__name__)


async def delete_trackers_before(store: TrackerStore, before: float) -> int:
    """Delete the trackers whose newest event is older than ``before`` (Unix time, s).

    Returns:
        How many conversations were deleted.
    """
    inner = _inner(store)
    if isinstance(inner, SQLTrackerStore):
        event = inner.SQLEvent
        with inner.session_scope() as session:
            old = (
                session.query(event.sender_id)
                .group_by(event.sender_id)
                .having(func.max(event.timestamp) < before)
                .subquery()
            )
            senders = [s for (s,) in session.query(old.c.sender_id).all()]
            if senders:
                session.query(event).filter(event.sender_id.in_(senders)).delete(
                    synchronize_session=False
                )
            session.commit()
            return len(senders)
    if isinstance(inner, InMemoryTrackerStore):
        count = 0
        for sender_id in list(inner.store):
            tracker = await inner.retrieve(sender_id)
            events: list[Any] = list(tracker.events) if tracker else []
            newest = events[-1].timestamp if events else 0.0
            if newest < before:
                inner.store.pop(sender_id, None)
                count += 1
        return count
    raise UnsupportedStore(type(inner).__name__)
