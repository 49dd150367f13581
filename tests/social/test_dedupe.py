"""Claims on message ids: in memory, and in SQLite and the real PostgreSQL server."""

import os
import secrets
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import MetaData, create_engine, func, select, text
from sqlalchemy.exc import OperationalError

from bot.chat.db import make_engine
from bot.social.dedupe import (
    MemoryProcessedMessages,
    SqlProcessedMessages,
    define_table,
)

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 24, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture(scope="module")
def postgres_schema():
    admin = create_engine(POSTGRES_URL, future=True)
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:  # pragma: no cover - the machine runs PostgreSQL
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.orig}")
    schema = f"t_{secrets.token_hex(6)}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield schema
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request, tmp_path, clock):
    if request.param == "memory":
        yield MemoryProcessedMessages(clock=clock)
        return
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'chat.db'}")
    else:
        schema = request.getfixturevalue("postgres_schema")
        engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    metadata = MetaData()
    table = define_table(metadata)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    store = SqlProcessedMessages(engine, table, clock=clock)
    store.engine = engine  # for the tests that look at the rows
    store.table = table
    yield store
    engine.dispose()


def test_first_claim_wins_later_ones_lose(store):
    assert store.claim("whatsapp", "wamid.A")
    assert not store.claim("whatsapp", "wamid.A")
    # The same id on another channel is another message.
    assert store.claim("messenger", "wamid.A")


def test_done_is_never_claimed_again_even_when_old(store, clock):
    assert store.claim("whatsapp", "wamid.B")
    store.done("whatsapp", "wamid.B")
    clock.now += timedelta(hours=2)
    assert not store.claim("whatsapp", "wamid.B")


def test_a_stale_claim_is_taken_over_once(store, clock):
    assert store.claim("messenger", "m_C")  # a worker claims it and dies
    clock.now += timedelta(minutes=4)
    assert not store.claim("messenger", "m_C")  # still in the worker's hands
    clock.now += timedelta(minutes=2)
    assert store.claim("messenger", "m_C")  # taken over
    assert not store.claim("messenger", "m_C")  # and not twice


def test_concurrent_claims_have_one_winner(store):
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def worker():
        barrier.wait()
        results.append(store.claim("whatsapp", "wamid.RACE"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


@pytest.mark.parametrize("store", ["sqlite", "postgresql"], indirect=True)
def test_sql_store_keeps_one_row_and_purges_old_ones(store, clock):
    store.claim("whatsapp", "wamid.OLD")
    store.claim("whatsapp", "wamid.OLD")
    clock.now += timedelta(days=9)
    store.claim("whatsapp", "wamid.NEW")
    with store.engine.connect() as connection:
        rows = connection.execute(select(func.count()).select_from(store.table)).scalar_one()
    assert rows == 2
    assert store.purge_older_than() == 1
    assert not store.claim("whatsapp", "wamid.NEW")


def test_memory_store_forgets_the_oldest_beyond_capacity(clock):
    store = MemoryProcessedMessages(capacity=2, clock=clock)
    for message_id in ("a", "b", "c"):
        assert store.claim("whatsapp", message_id)
    assert store.claim("whatsapp", "a")  # forgotten
    assert not store.claim("whatsapp", "c")
