"""The chat store, run against SQLite and against PostgreSQL.

Every test that takes ``session`` or ``engine`` runs twice: on a SQLite file in ``tmp_path`` and
on the PostgreSQL server at ``TEST_POSTGRES_URL`` (default: the local server's ``test``
database). PostgreSQL tests use a schema of their own (``t_<random>``), created once per test
session and dropped at its end, so they never see or touch other data. Without a reachable
server the PostgreSQL half is skipped with the reason.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
import zoneinfo
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from bot.chat import repository as repo
from bot.chat.db import DEFAULT_DATABASE_URL, create_schema, make_engine, make_sessionmaker
from bot.chat.models import Base, Conversation
from bot.settings import REPO_ROOT

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)
UTC = timezone.utc
T0 = datetime(2023, 6, 5, 10, 0, tzinfo=UTC)
TABLES = [table.name for table in Base.metadata.sorted_tables]
PERSONAL = (
    "Ich bin max.mustermann@example.org, IBAN DE89 3704 0044 0532 0130 00, "
    "Tel. 0171 1234567, Kundennummer 4711-0815, Zählernummer 1ESY1160612345; "
    "Verbrauch 3.500 kWh zu 48,5 Cent."
)
PERSONAL_MASKED = (
    "Ich bin [E-Mail], IBAN [IBAN], Tel. [Telefon], Kundennummer [Kundennummer], "
    "Zählernummer [Zählernummer]; Verbrauch 3.500 kWh zu 48,5 Cent."
)


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    """A schema of its own on the PostgreSQL server for this test session."""
    admin = create_engine(POSTGRES_URL, future=True)
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.orig}")
    schema = f"t_{secrets.token_hex(6)}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'chat.db'}")
        create_schema(engine)
    else:
        schema = request.getfixturevalue("postgres_schema")
        engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
        create_schema(engine)  # only the first test creates the tables
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def sessions(engine: Engine):
    return make_sessionmaker(engine)


@pytest.fixture
def session(sessions) -> Iterator[Session]:
    with sessions() as session:
        yield session


def raw(engine: Engine, sql: str, **params: object) -> list[tuple[Any, ...]]:
    """Rows as the database holds them, read past the ORM."""
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql), params)]


def count(engine: Engine, table: str, conversation_id: str) -> int:
    sql = f"SELECT count(*) FROM {table} WHERE conversation_id = :c"
    return int(raw(engine, sql, c=conversation_id)[0][0])


@pytest.fixture
def agent_id(session: Session) -> int:
    agent = repo.create_agent(
        session=session, username="anna", password_hash="x", display_name="Anna", now=T0
    )
    session.commit()
    return agent.id


# --- engine and schema -------------------------------------------------------------------------


def test_default_url_is_a_file_in_build() -> None:
    expected = f"sqlite:///{REPO_ROOT / 'build' / 'chat.db'}"
    assert expected == DEFAULT_DATABASE_URL


def test_sqlite_engine_turns_foreign_keys_and_wal_on(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new' / 'dir' / 'chat.db'}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert (tmp_path / "new" / "dir" / "chat.db").exists()
    finally:
        engine.dispose()


def test_in_memory_sqlite_works() -> None:
    engine = make_engine("sqlite://")
    create_schema(engine)
    with make_sessionmaker(engine)() as session:
        conversation = repo.create_conversation(session=session)
        repo.add_message(session=session, conversation_id=conversation.id, sender="bot", text="Hi")
        assert [m.seq for m in repo.transcript(session=session, conversation_id=conversation.id)]
    engine.dispose()


def test_create_schema_is_idempotent_and_creates_every_table(engine: Engine) -> None:
    create_schema(engine)
    for table in ("conversations", "messages", "feedback", "handoffs", "tickets", "agents"):
        assert raw(engine, f"SELECT count(*) FROM {table}") == [(0,)]


# --- conversations -----------------------------------------------------------------------------


def test_create_conversation(session: Session) -> None:
    conversation = repo.create_conversation(session=session, page="preisbremsen", now=T0)
    session.commit()
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", conversation.id)
    loaded = repo.get_conversation(session=session, conversation_id=conversation.id)
    assert loaded.state == "bot"
    assert loaded.page == "preisbremsen"
    assert loaded.created_at == loaded.updated_at == T0
    assert loaded.agent_id is None and loaded.queued_at is None and loaded.claimed_at is None


def test_conversation_ids_are_unguessable() -> None:
    ids = {repo.new_conversation_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 32 for i in ids)


def test_timestamps_come_back_aware_in_utc(sessions) -> None:
    berlin = datetime(2023, 6, 5, 12, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
    with sessions.begin() as session:
        conversation_id = repo.create_conversation(session=session, now=berlin).id
    with sessions() as session:
        loaded = repo.get_conversation(session=session, conversation_id=conversation_id)
        assert loaded.created_at == berlin
        assert loaded.created_at.tzinfo == UTC
        assert loaded.created_at.hour == 10


def test_naive_now_is_refused(session: Session) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        repo.create_conversation(session=session, now=datetime(2023, 6, 5, 10, 0))


def test_unknown_conversation(session: Session) -> None:
    unknown = repo.new_conversation_id()
    with pytest.raises(repo.UnknownConversation) as info:
        repo.get_conversation(session=session, conversation_id=unknown)
    assert isinstance(info.value, LookupError)
    assert unknown not in str(info.value)  # the full id grants access; keep it out of logs
    for call in (
        lambda: repo.add_message(session=session, conversation_id=unknown, sender="bot", text="x"),
        lambda: repo.transcript(session=session, conversation_id=unknown),
        lambda: repo.enqueue(session=session, conversation_id=unknown),
        lambda: repo.queue_position(session=session, conversation_id=unknown),
        lambda: repo.delete_conversation(session=session, conversation_id=unknown),
        lambda: repo.add_feedback(
            session=session, conversation_id=unknown, faq_id="a", content_version=1, helpful=True
        ),
        lambda: repo.add_ticket(
            session=session, conversation_id=unknown, name="A", contact="B", concern="C"
        ),
        lambda: repo.handoffs(session=session, conversation_id=unknown),
    ):
        with pytest.raises(repo.UnknownConversation):
            call()


# --- messages ----------------------------------------------------------------------------------


def test_messages_are_numbered_per_conversation(session: Session) -> None:
    first = repo.create_conversation(session=session, now=T0).id
    second = repo.create_conversation(session=session, now=T0).id
    seqs = [
        repo.add_message(session=session, conversation_id=cid, sender="customer", text=f"m{i}").seq
        for i, cid in enumerate([first, first, second, first, second])
    ]
    session.commit()
    assert seqs == [1, 2, 1, 3, 2]
    assert [m.text for m in repo.transcript(session=session, conversation_id=first)] == [
        "m0",
        "m1",
        "m3",
    ]


def test_message_fields_round_trip(sessions) -> None:
    buttons = [{"title": "Ja", "payload": "/affirm"}, {"title": "Nein", "payload": "/deny"}]
    meta = {"calculation": {"forecast_kwh": 3500, "instalment_eur": 99.5}, "handoff": None}
    with sessions.begin() as session:
        cid = repo.create_conversation(session=session, now=T0).id
        repo.add_message(
            session=session,
            conversation_id=cid,
            sender="bot",
            text="Die Strompreisbremse …",
            buttons=buttons,
            faq_id="strompreisbremse_was",
            content_version=3,
            meta=meta,
            now=T0 + timedelta(seconds=5),
        )
        repo.add_message(session=session, conversation_id=cid, sender="customer", text="Danke")
    with sessions() as session:
        first, second = repo.transcript(session=session, conversation_id=cid)
    assert (first.seq, first.sender, first.faq_id, first.content_version) == (
        1,
        "bot",
        "strompreisbremse_was",
        3,
    )
    assert first.buttons == buttons and first.meta == meta
    assert first.created_at == T0 + timedelta(seconds=5)
    assert second.buttons is None and second.meta is None and second.faq_id is None


def test_message_updates_the_conversation(session: Session) -> None:
    cid = repo.create_conversation(session=session, now=T0).id
    repo.add_message(
        session=session, conversation_id=cid, sender="customer", text="x", now=T0 + timedelta(1)
    )
    assert repo.get_conversation(session=session, conversation_id=cid).updated_at == T0 + timedelta(
        1
    )


def test_unknown_sender_is_refused(session: Session) -> None:
    cid = repo.create_conversation(session=session).id
    with pytest.raises(ValueError, match="sender"):
        repo.add_message(session=session, conversation_id=cid, sender="robot", text="x")


def test_transcript_after(session: Session) -> None:
    cid = repo.create_conversation(session=session).id
    for i in range(5):
        repo.add_message(session=session, conversation_id=cid, sender="bot", text=f"m{i + 1}")
    session.commit()
    assert [m.seq for m in repo.transcript(session=session, conversation_id=cid)] == [1, 2, 3, 4, 5]
    assert [m.text for m in repo.transcript(session=session, conversation_id=cid, after=3)] == [
        "m4",
        "m5",
    ]
    assert repo.transcript(session=session, conversation_id=cid, after=5) == []
    assert repo.transcript(session=session, conversation_id=cid, after=99) == []


def test_message_text_is_masked_in_the_table(engine: Engine, sessions) -> None:
    with sessions.begin() as session:
        cid = repo.create_conversation(session=session).id
        for sender in ("customer", "agent", "bot", "system"):
            repo.add_message(session=session, conversation_id=cid, sender=sender, text=PERSONAL)
    stored = raw(engine, "SELECT text FROM messages WHERE conversation_id = :c", c=cid)
    assert stored == [(PERSONAL_MASKED,)] * 4
    everything = " ".join(str(row) for row in raw(engine, "SELECT * FROM messages"))
    for secret in ("example.org", "DE89", "3704", "1234567", "4711", "1ESY"):
        assert secret not in everything


def test_public_contacts_stay_readable_in_bot_messages(engine: Engine, session: Session) -> None:
    cid = repo.create_conversation(session=session).id
    repo.add_message(
        session=session,
        conversation_id=cid,
        sender="bot",
        text="Rufen Sie uns an: 0800 1234567. Ihre Nummer 0171 1234567 speichern wir nicht.",
        public=frozenset({"0800 1234567"}),
    )
    session.commit()
    assert raw(engine, "SELECT text FROM messages") == [
        ("Rufen Sie uns an: 0800 1234567. Ihre Nummer [Telefon] speichern wir nicht.",)
    ]


def test_concurrent_writers_get_distinct_numbers(sessions) -> None:
    with sessions.begin() as session:
        cid = repo.create_conversation(session=session).id
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            for i in range(10):
                with sessions.begin() as session:
                    repo.add_message(
                        session=session,
                        conversation_id=cid,
                        sender="customer",
                        text=f"{writer}-{i}",
                    )
        except BaseException as exc:  # reported below; a thread's exception is lost otherwise
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with sessions() as session:
        messages = repo.transcript(session=session, conversation_id=cid)
    assert [m.seq for m in messages] == list(range(1, 41))
    expected = sorted(f"{w}-{i}" for w in range(4) for i in range(10))
    assert sorted(m.text for m in messages) == expected


# --- states, queue and handoffs -----------------------------------------------------------------


def test_handoff_lifecycle(session: Session, agent_id: int) -> None:
    cid = repo.create_conversation(session=session, now=T0).id

    queued = repo.enqueue(session=session, conversation_id=cid, reason="asked", now=T0)
    assert (queued.state, queued.queued_at, queued.agent_id) == ("queued", T0, None)
    claimed = repo.claim(
        session=session, conversation_id=cid, agent_id=agent_id, now=T0 + timedelta(minutes=2)
    )
    assert claimed.state == "agent"
    assert (claimed.agent_id, claimed.claimed_at) == (agent_id, T0 + timedelta(minutes=2))
    back = repo.release_to_bot(session=session, conversation_id=cid, now=T0 + timedelta(minutes=9))
    assert (back.state, back.queued_at, back.claimed_at, back.agent_id) == ("bot", None, None, None)
    assert back.updated_at == T0 + timedelta(minutes=9)

    repo.enqueue(session=session, conversation_id=cid, reason="upset", now=T0 + timedelta(hours=1))
    closed = repo.close(session=session, conversation_id=cid, now=T0 + timedelta(hours=2))
    session.commit()
    assert closed.state == "closed"

    history = repo.handoffs(session=session, conversation_id=cid)
    assert [(h.reason, h.requested_at, h.agent_id, h.claimed_at, h.closed_at) for h in history] == [
        ("asked", T0, agent_id, T0 + timedelta(minutes=2), T0 + timedelta(minutes=9)),
        ("upset", T0 + timedelta(hours=1), None, None, T0 + timedelta(hours=2)),
    ]


def test_enqueue_twice_keeps_the_place(session: Session) -> None:
    first = repo.create_conversation(session=session).id
    second = repo.create_conversation(session=session).id
    repo.enqueue(session=session, conversation_id=first, now=T0)
    repo.enqueue(session=session, conversation_id=second, now=T0 + timedelta(seconds=1))
    again = repo.enqueue(session=session, conversation_id=first, now=T0 + timedelta(seconds=5))
    assert again.queued_at == T0
    assert repo.queue_position(session=session, conversation_id=first) == 1
    assert len(repo.handoffs(session=session, conversation_id=first)) == 1


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ([], "agent"),  # bot -> agent: only queued conversations can be claimed
        (["closed"], "bot"),
        (["closed"], "queued"),
        (["closed"], "agent"),
        (["queued", "agent"], "queued"),
    ],
)
def test_invalid_transitions(session: Session, agent_id: int, path, target: str) -> None:
    cid = repo.create_conversation(session=session).id
    for state in path:
        repo.set_state(session=session, conversation_id=cid, state=state, agent_id=agent_id)
    with pytest.raises(repo.InvalidTransition) as info:
        repo.set_state(session=session, conversation_id=cid, state=target, agent_id=agent_id)
    assert isinstance(info.value, ValueError)
    assert info.value.requested == target
    assert cid not in str(info.value)


def test_closing_twice_is_harmless(session: Session) -> None:
    cid = repo.create_conversation(session=session).id
    repo.close(session=session, conversation_id=cid)
    assert repo.close(session=session, conversation_id=cid).state == "closed"


def test_set_state_checks_its_arguments(session: Session, agent_id: int) -> None:
    cid = repo.create_conversation(session=session).id
    with pytest.raises(ValueError, match="state must be one of"):
        repo.set_state(session=session, conversation_id=cid, state="waiting")
    repo.enqueue(session=session, conversation_id=cid)
    with pytest.raises(ValueError, match="agent_id is required"):
        repo.set_state(session=session, conversation_id=cid, state="agent")
    with pytest.raises(repo.UnknownAgent):
        repo.claim(session=session, conversation_id=cid, agent_id=agent_id + 100)
    assert repo.get_conversation(session=session, conversation_id=cid).state == "queued"


def test_a_claimed_conversation_cannot_be_claimed_by_another_agent(
    session: Session, agent_id: int
) -> None:
    other = repo.create_agent(
        session=session, username="ben", password_hash="x", display_name="Ben"
    ).id
    cid = repo.create_conversation(session=session).id
    repo.enqueue(session=session, conversation_id=cid)
    repo.claim(session=session, conversation_id=cid, agent_id=agent_id)
    assert repo.claim(session=session, conversation_id=cid, agent_id=agent_id).agent_id == agent_id
    with pytest.raises(repo.InvalidTransition):
        repo.claim(session=session, conversation_id=cid, agent_id=other)


def test_two_agents_claiming_at_once(sessions, agent_id: int) -> None:
    with sessions.begin() as session:
        other = repo.create_agent(
            session=session, username="ben", password_hash="x", display_name="Ben"
        ).id
        cid = repo.create_conversation(session=session).id
        repo.enqueue(session=session, conversation_id=cid)
    outcome: list[object] = []

    def second_agent() -> None:
        try:
            with sessions.begin() as session:
                repo.claim(session=session, conversation_id=cid, agent_id=other)
            outcome.append("claimed")
        except BaseException as exc:  # reported below
            outcome.append(exc)

    with sessions.begin() as first:
        repo.claim(session=first, conversation_id=cid, agent_id=agent_id)
        # The first claim is written but not committed: the second agent reads "queued" and
        # its UPDATE waits for the row (PostgreSQL) or the write lock (SQLite).
        thread = threading.Thread(target=second_agent)
        thread.start()
        time.sleep(0.5)
    thread.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], repo.InvalidTransition), outcome
    with sessions() as session:
        conversation = repo.get_conversation(session=session, conversation_id=cid)
        assert (conversation.state, conversation.agent_id) == ("agent", agent_id)
        [handoff] = repo.handoffs(session=session, conversation_id=cid)
        assert handoff.agent_id == agent_id


def test_queue_order_waiting_seconds_and_positions(session: Session, agent_id: int) -> None:
    ids = [repo.create_conversation(session=session, now=T0).id for _ in range(4)]
    repo.enqueue(session=session, conversation_id=ids[2], now=T0 + timedelta(seconds=10))
    repo.enqueue(session=session, conversation_id=ids[0], now=T0 + timedelta(seconds=40))
    repo.enqueue(session=session, conversation_id=ids[1], now=T0 + timedelta(seconds=25))
    session.commit()
    now = T0 + timedelta(seconds=100)
    entries = repo.queue(session=session, now=now)
    assert [(e.conversation.id, e.position, e.waiting_seconds) for e in entries] == [
        (ids[2], 1, 90),
        (ids[1], 2, 75),
        (ids[0], 3, 60),
    ]
    assert [repo.queue_position(session=session, conversation_id=c) for c in ids] == [3, 2, 1, None]

    repo.claim(session=session, conversation_id=ids[2], agent_id=agent_id)
    repo.release_to_bot(session=session, conversation_id=ids[1])
    assert [e.conversation.id for e in repo.queue(session=session, now=now)] == [ids[0]]
    assert repo.queue_position(session=session, conversation_id=ids[0]) == 1
    assert repo.queue_position(session=session, conversation_id=ids[1]) is None
    assert repo.queue_position(session=session, conversation_id=ids[2]) is None


def test_queue_ties_are_broken_by_id_and_waiting_is_never_negative(session: Session) -> None:
    ids = [repo.create_conversation(session=session).id for _ in range(3)]
    for cid in ids:
        repo.enqueue(session=session, conversation_id=cid, now=T0)
    entries = repo.queue(session=session, now=T0 - timedelta(seconds=5))  # a clock set back
    assert [e.conversation.id for e in entries] == sorted(ids)
    assert {e.waiting_seconds for e in entries} == {0}
    positions = [repo.queue_position(session=session, conversation_id=c) for c in sorted(ids)]
    assert positions == [1, 2, 3]


def test_queue_is_empty_without_handoffs(session: Session) -> None:
    repo.create_conversation(session=session)
    assert repo.queue(session=session) == []


# --- feedback and tickets ----------------------------------------------------------------------


def test_feedback(engine: Engine, session: Session) -> None:
    cid = repo.create_conversation(session=session, now=T0).id
    repo.add_message(session=session, conversation_id=cid, sender="bot", text="Antwort",
                     faq_id="gaspreisbremse_was", content_version=2, now=T0)
    feedback = repo.add_feedback(
        session=session,
        conversation_id=cid,
        faq_id="gaspreisbremse_was",
        content_version=2,
        helpful=False,
        now=T0 + timedelta(minutes=1),
    )
    session.commit()
    assert feedback.id is not None
    assert raw(engine, "SELECT faq_id, content_version, helpful, message_seq FROM feedback") == [
        ("gaspreisbremse_was", 2, False, 1)
    ]
    conversation = repo.get_conversation(session=session, conversation_id=cid)
    assert conversation.updated_at == T0 + timedelta(minutes=1)


def test_tickets_keep_contact_and_mask_the_concern(engine: Engine, session: Session) -> None:
    cid = repo.create_conversation(session=session).id
    repo.add_ticket(
        session=session,
        conversation_id=cid,
        name="Max Mustermann",
        contact="0171 1234567",
        concern=f"Bitte um Rückruf. {PERSONAL}",
        now=T0,
    )
    session.commit()
    assert raw(engine, "SELECT name, contact, concern FROM tickets") == [
        ("Max Mustermann", "0171 1234567", f"Bitte um Rückruf. {PERSONAL_MASKED}")
    ]


def test_open_tickets_and_marking_them_done(session: Session) -> None:
    cid = repo.create_conversation(session=session).id
    first = repo.add_ticket(
        session=session, conversation_id=cid, name="A", contact="a@example.org", concern="x", now=T0
    )
    second = repo.add_ticket(
        session=session,
        conversation_id=cid,
        name="B",
        contact="030 123456",
        concern="y",
        now=T0 + timedelta(minutes=1),
    )
    session.commit()
    assert [t.id for t in repo.tickets(session=session)] == [first.id, second.id]
    done = repo.mark_ticket_done(session=session, ticket_id=first.id, now=T0 + timedelta(hours=1))
    session.commit()
    assert done.done_at == T0 + timedelta(hours=1)
    assert [t.id for t in repo.tickets(session=session)] == [second.id]
    assert [t.id for t in repo.tickets(session=session, include_done=True)] == [first.id, second.id]
    with pytest.raises(repo.UnknownTicket):
        repo.mark_ticket_done(session=session, ticket_id=second.id + 100)


# --- deleting ----------------------------------------------------------------------------------


def _full_conversation(session: Session, agent_id: int) -> str:
    cid = repo.create_conversation(session=session, now=T0).id
    repo.add_message(session=session, conversation_id=cid, sender="customer", text="Hallo")
    repo.add_message(session=session, conversation_id=cid, sender="bot", text="Guten Tag",
                     faq_id="a", content_version=1)
    repo.add_feedback(
        session=session, conversation_id=cid, faq_id="a", content_version=1, helpful=True
    )
    repo.enqueue(session=session, conversation_id=cid)
    repo.claim(session=session, conversation_id=cid, agent_id=agent_id)
    repo.add_ticket(session=session, conversation_id=cid, name="A", contact="B", concern="C")
    return cid


def test_delete_conversation_removes_every_trace(
    engine: Engine, session: Session, agent_id: int
) -> None:
    doomed = _full_conversation(session, agent_id)
    kept = _full_conversation(session, agent_id)
    session.commit()
    repo.delete_conversation(session=session, conversation_id=doomed)
    session.commit()
    for table in ("messages", "feedback", "handoffs", "tickets"):
        assert count(engine, table, doomed) == 0, table
        assert count(engine, table, kept) > 0, table
    assert raw(engine, "SELECT id FROM conversations") == [(kept,)]
    assert raw(engine, "SELECT count(*) FROM agents") == [(1,)]
    with pytest.raises(repo.UnknownConversation):
        repo.get_conversation(session=session, conversation_id=doomed)
    with pytest.raises(repo.UnknownConversation):
        repo.delete_conversation(session=session, conversation_id=doomed)


def test_database_cascades_a_raw_delete(engine: Engine, sessions, agent_id: int) -> None:
    # The foreign keys themselves delete the rows too (SQLite needs PRAGMA foreign_keys=ON).
    with sessions.begin() as session:
        cid = _full_conversation(session, agent_id)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM conversations WHERE id = :c"), {"c": cid})
    for table in ("messages", "feedback", "handoffs", "tickets"):
        assert count(engine, table, cid) == 0, table


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO messages (conversation_id, seq, sender, text, created_at) "
                "VALUES ('nope', 1, 'bot', 'x', '2023-06-05 10:00:00')"
            )
        )


def test_deleting_an_agent_keeps_the_conversations(engine: Engine, sessions, agent_id: int) -> None:
    with sessions.begin() as session:
        cid = _full_conversation(session, agent_id)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM agents WHERE id = :a"), {"a": agent_id})
    with sessions() as session:
        conversation = repo.get_conversation(session=session, conversation_id=cid)
        assert (conversation.state, conversation.agent_id) == ("agent", None)
        assert [h.agent_id for h in repo.handoffs(session=session, conversation_id=cid)] == [None]


def test_delete_conversations_before(engine: Engine, session: Session) -> None:
    old = repo.create_conversation(session=session, now=T0 - timedelta(days=100)).id
    repo.add_message(
        session=session,
        conversation_id=old,
        sender="customer",
        text="alt",
        now=T0 - timedelta(days=95),
    )
    revived = repo.create_conversation(session=session, now=T0 - timedelta(days=100)).id
    repo.add_message(
        session=session,
        conversation_id=revived,
        sender="customer",
        text="neu",
        now=T0 - timedelta(days=1),
    )
    fresh = repo.create_conversation(session=session, now=T0).id
    session.commit()
    deleted = repo.delete_conversations_before(session=session, before=T0 - timedelta(days=90))
    session.commit()
    assert deleted == 1
    assert sorted(r[0] for r in raw(engine, "SELECT id FROM conversations")) == sorted(
        [revived, fresh]
    )
    assert count(engine, "messages", old) == 0


# --- agents ------------------------------------------------------------------------------------


def test_agents(session: Session) -> None:
    agent = repo.create_agent(
        session=session,
        username="chef",
        password_hash="$argon2id$…",
        display_name="Chefin",
        role="admin",
        now=T0,
    )
    session.commit()
    assert repo.get_agent(session=session, agent_id=agent.id).role == "admin"
    found = repo.agent_by_username(session=session, username="chef")
    assert found is not None and found.display_name == "Chefin"
    assert repo.agent_by_username(session=session, username="nobody") is None
    with pytest.raises(repo.UnknownAgent):
        repo.get_agent(session=session, agent_id=agent.id + 100)
    with pytest.raises(ValueError, match="role"):
        repo.create_agent(
            session=session, username="x", password_hash="x", display_name="X", role="boss"
        )


def test_usernames_are_unique(session: Session) -> None:
    repo.create_agent(session=session, username="anna", password_hash="x", display_name="A")
    with pytest.raises(IntegrityError):
        repo.create_agent(session=session, username="anna", password_hash="y", display_name="B")


def test_check_constraints_guard_raw_writes(engine: Engine) -> None:
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO conversations (id, created_at, updated_at, state, last_seq) "
                "VALUES ('x', '2023-06-05 10:00:00', '2023-06-05 10:00:00', 'waiting', 0)"
            )
        )


def test_model_has_the_documented_columns() -> None:
    columns = set(Conversation.__table__.columns.keys())
    assert {
        "id",
        "created_at",
        "updated_at",
        "state",
        "page",
        "agent_id",
        "queued_at",
        "claimed_at",
    } <= columns
