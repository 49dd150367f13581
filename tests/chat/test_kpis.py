"""The dashboard's figures (``bot.chat.kpis``) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from bot.chat import kpis
from bot.chat import repository as repo
from bot.chat.db import create_schema, make_engine, make_sessionmaker
from bot.content.models import TrainingRun
from tests.content import conftest as content_conftest

UTC = timezone.utc
NOW = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)

pg_engine = content_conftest.pg_engine  # a fresh PostgreSQL schema, dropped afterwards


@pytest.fixture(params=["sqlite", "postgresql"])
def session(request, tmp_path):
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'kpis.db'}")
    else:
        engine = request.getfixturevalue("pg_engine")
    create_schema(engine)
    with make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()


def at(hour: int, minute: int, days_ago: int = 0) -> datetime:
    return NOW.replace(hour=hour, minute=minute) - timedelta(days=days_ago)


def say(session: Session, conversation_id: str, sender: str, when: datetime, **extra) -> None:
    repo.add_message(session=session, conversation_id=conversation_id, sender=sender,
                     text=f"{sender} um {when:%H:%M}", now=when, **extra)


@pytest.fixture
def traffic(session: Session) -> Session:
    """Six conversations of a morning (A–E today, F two days ago)."""
    agent = repo.create_agent(session=session, username="anna", password_hash="x",
                              display_name="Anna", now=at(8, 0))

    def conversation(when: datetime) -> str:
        return repo.create_conversation(session=session, now=when).id

    # A: answered, then a fallback; never asked for a person.
    a = conversation(at(9, 10))
    say(session, a, "customer", at(9, 10))
    say(session, a, "bot", at(9, 10), faq_id="gaspreisbremse")
    say(session, a, "customer", at(9, 20))
    say(session, a, "bot", at(9, 20), meta={"decision": "fallback"})
    # B: asked for a person at 9:40, claimed after 10 minutes.
    b = conversation(at(9, 40))
    say(session, b, "customer", at(9, 40))
    say(session, b, "bot", at(9, 40), meta={"handoff": "queued"})
    repo.enqueue(session=session, conversation_id=b, reason="asked", now=at(9, 40))
    repo.claim(session=session, conversation_id=b, agent_id=agent.id, now=at(9, 50))
    # C: a fallback, then the offline handoff (a callback offer, no queue).
    c = conversation(at(10, 5))
    say(session, c, "customer", at(10, 5))
    say(session, c, "bot", at(10, 5), meta={"decision": "fallback"})
    say(session, c, "system", at(10, 6), meta={"handoff": "offline"})
    # D: opened, never written in.
    conversation(at(10, 10))
    # E: asked for a person at 10:20 and still waits (10 minutes at NOW).
    e = conversation(at(10, 20))
    say(session, e, "customer", at(10, 20))
    say(session, e, "bot", at(10, 20), meta={"handoff": "queued"})
    repo.enqueue(session=session, conversation_id=e, reason="asked", now=at(10, 20))
    # F: two days ago, answered.
    f = conversation(at(12, 0, days_ago=2))
    say(session, f, "customer", at(12, 0, days_ago=2))
    say(session, f, "bot", at(12, 0, days_ago=2), faq_id="soforthilfe")
    session.commit()
    return session


def test_a_day_in_hours(traffic):
    buckets = kpis.series(traffic, now=NOW, period=kpis.PERIODS["24h"])
    assert len(buckets) == 24
    assert buckets[-1].start == at(10, 0) and buckets[-1].end == at(11, 0)
    assert buckets[0].start == at(11, 0, days_ago=1)
    nine, ten = buckets[-2], buckets[-1]
    assert (nine.customer_messages, nine.bot_messages, nine.fallbacks) == (3, 3, 1)
    assert nine.fallback_rate == pytest.approx(1 / 3)
    assert (nine.active_conversations, nine.handoff_conversations) == (2, 1)
    assert nine.handoff_rate == 0.5
    assert (nine.started_conversations, nine.solved_without_person) == (2, 1)
    assert nine.solved_share == 0.5
    assert (nine.handoffs, nine.wait_avg_s, nine.wait_max_s) == (1, 600.0, 600.0)
    assert (ten.customer_messages, ten.bot_messages, ten.fallbacks) == (2, 2, 1)
    assert (ten.active_conversations, ten.handoff_conversations) == (2, 2)
    assert (ten.started_conversations, ten.solved_without_person) == (2, 0)
    assert ten.solved_share == 0.0
    assert (ten.handoffs, ten.wait_max_s) == (1, 600.0)  # still waiting: until now
    quiet = buckets[0]
    assert quiet.customer_messages == 0 and quiet.fallback_rate is None
    assert quiet.handoff_rate is None and quiet.solved_share is None
    assert quiet.wait_avg_s is None


def test_a_week_in_quarters_of_a_day(traffic):
    buckets = kpis.series(traffic, now=NOW, period=kpis.PERIODS["7d"])
    assert len(buckets) == 28
    assert buckets[-1].start == at(6, 0) and buckets[-1].end == at(12, 0)
    assert sum(b.customer_messages for b in buckets) == 6
    assert sum(b.bot_messages for b in buckets) == 6
    today = buckets[-1]
    assert (today.customer_messages, today.started_conversations, today.handoffs) == (5, 4, 2)
    assert today.wait_avg_s == 600.0
    [older] = [b for b in buckets[:-1] if b.customer_messages]
    assert older.start == at(12, 0, days_ago=2)
    assert (older.started_conversations, older.solved_without_person) == (1, 1)


def test_now_counts_the_queue_and_the_last_day(traffic):
    now = kpis.current(traffic, now=NOW)
    assert (now.queue_length, now.longest_wait_s, now.average_wait_s) == (1, 600.0, 600.0)
    # A, B, C, E started today with a customer message (D has none, F is too old); A solved.
    assert (now.started_conversations, now.solved_without_person) == (4, 1)
    assert now.solved_share == 0.25
    assert now.training_state is None and now.training_finished_at is None
    for state in ("live", "training"):  # the newest run counts
        traffic.add(TrainingRun(state=state, generation=1, requested_by="Erika",
                                created_at=at(9, 0)))
    traffic.commit()
    assert kpis.current(traffic, now=NOW).training_state == "training"


def test_an_empty_database(session):
    now = kpis.current(session, now=NOW)
    assert (now.queue_length, now.longest_wait_s, now.solved_share) == (0, 0.0, None)
    assert all(b.customer_messages == 0 for b in kpis.series(session, now=NOW))


def test_now_must_be_aware(session):
    with pytest.raises(ValueError, match="timezone-aware"):
        kpis.current(session, now=NOW.replace(tzinfo=None))


def test_a_handoff_stamped_by_a_clock_slightly_behind_still_counts(session):
    """The handoff-message search starts at the window (less CLOCK_SKEW): a conversation that
    started just inside the window, whose handoff message another instance stamped two
    minutes earlier, still asked for a person; one that started before the window counts
    in neither figure."""
    first = at(11, 0, days_ago=1)  # the day's series starts at this full hour
    inside = repo.create_conversation(session=session, now=first + timedelta(seconds=30)).id
    say(session, inside, "customer", first + timedelta(seconds=30))
    say(session, inside, "bot", first - timedelta(minutes=2), meta={"handoff": "queued"})
    older = repo.create_conversation(session=session, now=first - timedelta(hours=1)).id
    say(session, older, "customer", first - timedelta(hours=1))
    session.commit()
    buckets = kpis.series(session, now=NOW)
    assert buckets[0].start == first
    assert (buckets[0].started_conversations, buckets[0].solved_without_person) == (1, 0)
    assert sum(b.started_conversations for b in buckets) == 1
    now = kpis.current(session, now=NOW)  # its window starts at 10:30 the day before
    assert (now.started_conversations, now.solved_without_person) == (1, 0)


def test_the_store_connects_to_postgresql_without_jit(pg_engine):
    """make_engine turns JIT off (it cost the 7-day series up to 0.9 s of compiling) and keeps
    the options the caller passed (here the fixture's search_path)."""
    with pg_engine.connect() as connection:
        assert connection.execute(text("SHOW jit")).scalar_one() == "off"
        assert connection.execute(text("SHOW search_path")).scalar_one().startswith("c_")
    jit = make_engine(content_conftest.POSTGRES_URL, connect_args={"options": "-c jit=on"})
    try:
        with jit.connect() as connection:
            assert connection.execute(text("SHOW jit")).scalar_one() == "on"
    finally:
        jit.dispose()
