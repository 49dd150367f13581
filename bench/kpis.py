"""Benchmark of the admins' KPI dashboard on a full store → ``docs/benchmarks/kpi-dashboard.md``.

The dashboard (``bot.chat.kpis``: ``series`` for 24 h and 7 days, ``current``) reads a window
of hours or days out of everything the chat store keeps: ``RETENTION_DAYS`` (90) days of
conversations. This fills a fresh PostgreSQL database (the production profile's store) with
90 days of a 300,000-customer utility in a crisis season (``CONVERSATIONS_PER_DAY`` a day,
``MESSAGES_PER_CONVERSATION`` messages each, 10 % fallbacks, 7 % handoffs: see load.md) and
times the three queries as the dashboard runs them, with the ``created_at`` indexes of
migration 0004 and without them.

Command: ``make bench`` (``python -m bench.kpis``); needs PostgreSQL on
``BENCH_POSTGRES`` (default ``postgresql://postgres@127.0.0.1:5432``). The database
``bench_kpis`` (about 1 GB) is created for the run and dropped afterwards.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from bench.common import RESULTS_DIR, machine, percentile
from bot.chat import kpis
from bot.chat.db import create_schema, make_engine, make_sessionmaker

POSTGRES = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "bench_kpis"
DAYS = 90  # RETENTION_DAYS' default: the most the store keeps
# A crisis season at a utility with 300,000 customers: load.md's crisis day has 30,000
# conversations; averaged over three months of letters, price brakes and annual bills we
# assume 5,000 a day (stated in the report; replace with the utility's own figures).
CONVERSATIONS_PER_DAY = 5_000
MESSAGES_PER_CONVERSATION = 8  # 4 customer turns and 4 answers
REPEATS = 15
INDEXES = {
    "ix_messages_created_at": ("messages", "created_at"),
    "ix_conversations_created_at": ("conversations", "created_at"),
}


def _database(base_url: str, *, create: bool) -> None:
    """Drop the benchmark's database (left over from an interrupted run) and maybe create it."""
    admin = create_engine(f"{base_url}/postgres", isolation_level="AUTOCOMMIT", future=True)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}"'))
            if create:
                connection.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    finally:
        admin.dispose()


def _fill(engine: Engine, now: datetime) -> dict[str, int]:
    """Conversations spread evenly over ``DAYS`` days up to ``now``, with messages and handoffs.

    Every 10th answer is a fallback, 7 % of the conversations end with a handoff message and a
    handoff row (claimed after 2 minutes). Generated in SQL (``generate_series``).
    """
    total = DAYS * CONVERSATIONS_PER_DAY
    spacing_s = DAYS * 86_400 / total
    naive_now = now.replace(tzinfo=None)
    params = {"total": total, "spacing": spacing_s, "now": naive_now,
              "per": MESSAGES_PER_CONVERSATION}
    with engine.begin() as connection:
        connection.execute(text("""
            INSERT INTO conversations (id, created_at, updated_at, state, last_seq)
            SELECT md5('c' || g), ts, ts + interval '3 minutes', 'bot', :per
            FROM (SELECT g, CAST(:now AS timestamp) - g * :spacing * interval '1 second' AS ts
                  FROM generate_series(1, :total) AS g) AS s
        """), params)
        connection.execute(text("""
            INSERT INTO messages (conversation_id, seq, sender, text, meta, created_at)
            SELECT c.id, s,
                   CASE WHEN s % 2 = 1 THEN 'customer' ELSE 'bot' END,
                   CASE WHEN s % 2 = 1 THEN 'Wie hoch ist mein neuer Abschlag?'
                        ELSE 'So setzt sich Ihr Abschlag zusammen …' END,
                   CAST(CASE
                     WHEN s = :per AND abs(hashtext(c.id)) % 100 < 7
                       THEN '{"handoff": "queued"}'
                     WHEN s % 2 = 0 AND abs(hashtext(c.id || s)) % 10 = 0
                       THEN '{"decision": "fallback"}'
                     WHEN s % 2 = 0 THEN '{"decision": "faq"}'
                   END AS json),
                   c.created_at + s * interval '20 seconds'
            FROM conversations AS c CROSS JOIN generate_series(1, :per) AS s
        """), params)
        connection.execute(text("""
            INSERT INTO handoffs (conversation_id, reason, requested_at, claimed_at, closed_at)
            SELECT c.id, 'customer', c.created_at + interval '160 seconds',
                   c.created_at + interval '280 seconds', c.created_at + interval '10 minutes'
            FROM conversations AS c WHERE abs(hashtext(c.id)) % 100 < 7
        """))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
        return {
            table: int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in ("conversations", "messages", "handoffs")
        }


def _time(engine: Engine, run: Callable[[Any], object]) -> list[float]:
    sessions = make_sessionmaker(engine)
    timings = []
    for attempt in range(REPEATS + 2):
        with sessions() as session:
            started = time.perf_counter()
            run(session)
            elapsed = time.perf_counter() - started
        if attempt >= 2:  # the first two warm the caches
            timings.append(elapsed)
    return timings


def _jit_engine(base_url: str) -> Engine:
    """An engine with PostgreSQL's default (JIT on), which ``make_engine`` turns off."""
    return make_engine(f"{base_url}/{DATABASE}", connect_args={"options": "-c jit=on"})


def _measure(engine: Engine, now: datetime) -> dict[str, list[float]]:
    return {
        "series, 24 h in hours": _time(
            engine, lambda s: kpis.series(s, now=now, period=kpis.PERIODS["24h"])),
        "series, 7 days in 6 h": _time(
            engine, lambda s: kpis.series(s, now=now, period=kpis.PERIODS["7d"])),
        "current (queue, solved share 24 h)": _time(engine, lambda s: kpis.current(s, now=now)),
    }


def _set_indexes(engine: Engine, present: bool) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for name, (table, column) in INDEXES.items():
            if present:
                connection.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column})"))
            else:
                connection.execute(text(f"DROP INDEX IF EXISTS {name}"))
        connection.execute(text("ANALYZE"))


def _ms(values: list[float]) -> str:
    median, p95 = statistics.median(values), percentile(values, 95)
    return f"{median * 1000:,.0f} ms / {p95 * 1000:,.0f} ms"


def main() -> None:
    base_url = os.environ.get("BENCH_POSTGRES", POSTGRES)
    now = datetime.now(timezone.utc).replace(minute=30, second=0, microsecond=0)
    _database(base_url, create=True)
    engine = make_engine(f"{base_url}/{DATABASE}")
    try:
        create_schema(engine)
        started = time.perf_counter()
        counts = _fill(engine, now - timedelta(minutes=1))
        fill_s = time.perf_counter() - started
        with_indexes = _measure(engine, now)
        jit_engine = _jit_engine(base_url)
        try:
            with_jit = _measure(jit_engine, now)
        finally:
            jit_engine.dispose()
        _set_indexes(engine, present=False)
        without = _measure(engine, now)
        _set_indexes(engine, present=True)
        # Same answers either way (the indexes change the plan, not the figures).
        sessions = make_sessionmaker(engine)
        with sessions() as session:
            day = kpis.series(session, now=now)
        with engine.connect() as connection:
            size = connection.execute(
                text("SELECT pg_size_pretty(pg_database_size(current_database()))")).scalar_one()
    finally:
        engine.dispose()
        _database(base_url, create=False)
    customer_messages = sum(b.customer_messages for b in day)
    rows = "\n".join(
        f"| {name} | {_ms(with_indexes[name])} | {_ms(without[name])} | {_ms(with_jit[name])} |"
        for name in with_indexes
    )
    report = f"""# KPI dashboard benchmark

Command: `make bench` (`python -m bench.kpis`). Machine: {machine()}.
PostgreSQL on the same machine (the production profile's store), database `{DATABASE}`.

## The store

{DAYS} days (`RETENTION_DAYS`' default, the most the store keeps) of a utility with 300,000
customers in a crisis season, generated in SQL in {fill_s:.0f} s: **{CONVERSATIONS_PER_DAY:,}
conversations a day** (assumed: load.md's crisis day has 30,000, a normal day well under
3,000), {MESSAGES_PER_CONVERSATION} messages each, every 10th answer a fallback, 7 % handed
to a person.

| table | rows |
|---|---|
| conversations | {counts["conversations"]:,} |
| messages | {counts["messages"]:,} |
| handoffs | {counts["handoffs"]:,} |

Database size: {size}. The last 24 hours hold {customer_messages:,} customer messages.

## Query time (median / p95 of {REPEATS} runs, warm cache)

| dashboard query (`bot/chat/kpis.py`) | as deployed: `created_at` indexes (migration 0004), JIT off | without the indexes | with PostgreSQL's JIT on (its default) |
|---|---|---|---|
{rows}

The admins' dashboard (`GET /api/admin/kpis`) runs one `series` and one `current` per
refresh; every web app pod also runs `current` on each Prometheus scrape of `/metrics`.
"""
    (RESULTS_DIR / "kpi-dashboard.md").write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
