"""Alembic migrations: the newest revision matches the models on SQLite and PostgreSQL, a
database from before migrations is upgraded in place without losing rows."""

from __future__ import annotations

from datetime import datetime, timezone

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

import bot.content.models  # noqa: F401  - registers the content tables
from bot.chat.db import create_schema, make_engine
from bot.chat.models import Base
from bot.migrations import BASELINE_REVISION, alembic_config, include_name, migrate

CHAT_TABLES = ("agents", "conversations", "messages", "feedback", "handoffs", "tickets")
# Indexes that later migrations added to those tables.
LATER_INDEXES = {"ix_conversations_created_at", "ix_messages_created_at"}


def _differences(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_name}
        )
        return compare_metadata(context, Base.metadata)


def test_migrations_match_the_models(engine):
    """``engine`` (conftest) is migrated on SQLite and PostgreSQL; autogenerate finds nothing."""
    assert _differences(engine) == []
    tables = set(inspect(engine).get_table_names())
    assert {"content_topics", "content_revisions", "audit_log", "training_runs",
            "inbox_items", "alembic_version"} <= tables


def test_migrate_is_idempotent(engine):
    migrate(engine)
    migrate(engine)
    with engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert version and version != BASELINE_REVISION


def test_database_from_before_migrations_is_upgraded_in_place(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    # What issue 4's create_all made is the baseline revision's schema, without Alembic's table.
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, BASELINE_REVISION)
        connection.execute(text("DROP TABLE alembic_version"))
    assert set(inspect(engine).get_table_names()) == set(CHAT_TABLES)
    assert not LATER_INDEXES & {i["name"] for t in CHAT_TABLES
                                for i in inspect(engine).get_indexes(t)}
    now = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc).replace(tzinfo=None)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO conversations (id, created_at, updated_at, state, last_seq) "
                 "VALUES ('c1', :t, :t, 'bot', 0)"),
            {"t": now},
        )
    create_schema(engine)
    assert _differences(engine) == []
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id FROM conversations")).scalars().all() == ["c1"]
    engine.dispose()
