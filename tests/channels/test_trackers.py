"""Deleting Rasa trackers in the in-memory store and in the SQL store on PostgreSQL (real)."""

from __future__ import annotations

import time
import uuid

import pytest
from rasa.core.tracker_store import (
    AwaitableTrackerStore,
    InMemoryTrackerStore,
    SQLTrackerStore,
    TrackerStore,
)
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, text

from channels.trackers import UnsupportedStore, delete_tracker, delete_trackers_before

NOW = time.time()
DAY = 86400.0


def tracker(sender, newest):
    return DialogueStateTracker.from_events(sender, [
        ActionExecuted("action_listen", timestamp=newest - 10),
        UserUttered("Hallo", timestamp=newest),
    ])


@pytest.fixture
def postgres_store():
    name = f"trackers_{uuid.uuid4().hex[:10]}"
    store = SQLTrackerStore(Domain.empty(), dialect="postgresql", host="127.0.0.1", port=5432,
                            db=name, username="postgres", login_db="postgres")
    yield store
    store.engine.dispose()
    admin = create_engine("postgresql://postgres@127.0.0.1:5432/postgres",
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}"'))
    admin.dispose()


@pytest.fixture(params=["memory", "postgresql"])
def store(request):
    if request.param == "memory":
        return AwaitableTrackerStore(InMemoryTrackerStore(Domain.empty()))
    return AwaitableTrackerStore(request.getfixturevalue("postgres_store"))


async def test_one_conversation_is_deleted_and_the_others_stay(store):
    await store.save(tracker("old", NOW))
    await store.save(tracker("keep", NOW))
    assert await delete_tracker(store, "old") >= 1
    assert await store.retrieve("old") is None
    assert (await store.retrieve("keep")).latest_message.text == "Hallo"
    assert await delete_tracker(store, "never-there") == 0


async def test_retention_deletes_conversations_whose_newest_event_is_old(store):
    await store.save(tracker("ancient", NOW - 100 * DAY))
    await store.save(tracker("recent", NOW - 1 * DAY))
    assert await delete_trackers_before(store, NOW - 90 * DAY) == 1
    assert await store.retrieve("ancient") is None
    assert await store.retrieve("recent") is not None
    assert sorted(await store.keys()) == ["recent"]


async def test_other_stores_are_refused():
    class Other(TrackerStore):
        pass

    with pytest.raises(UnsupportedStore):
        await delete_tracker(Other(Domain.empty()), "x")
    with pytest.raises(UnsupportedStore):
        await delete_trackers_before(Other(Domain.empty()), NOW)


async def test_saving_after_loading_stores_each_event_once_without_counting_them(postgres_store):
    from sqlalchemy import event as sa_event

    from channels import server_patches

    server_patches.install()
    store = postgres_store
    statements = []
    sa_event.listen(store.engine, "before_cursor_execute",
                    lambda conn, cursor, sql, *args: statements.append(sql))
    await store.save(tracker("k", NOW))  # first save, nothing loaded before: Rasa's count
    for turn in range(3):
        loaded = await store.retrieve("k")
        statements.clear()
        loaded.update(UserUttered(f"Frage {turn}", timestamp=NOW + turn + 1))
        await store.save(loaded)
        assert not any("count(" in sql.lower() for sql in statements)
    stored = await store.retrieve("k")
    assert [e.text for e in stored.events if isinstance(e, UserUttered)] == [
        "Hallo", "Frage 0", "Frage 1", "Frage 2"]
    fresh = tracker("neu", NOW)  # never loaded: counted as Rasa does
    await store.save(fresh)
    fresh.update(UserUttered("noch was", timestamp=NOW + 5))
    await store.save(fresh)
    assert len((await store.retrieve("neu")).events) == 3
