"""Alembic environment: the models' metadata; the connection comes from ``migrate`` or the URL."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import engine_from_config, pool

import bot.content.models  # noqa: F401  - registers the editors' tables on the shared metadata
from bot.chat.models import Base
from bot.migrations import include_name

config = context.config
target_metadata = Base.metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=True,
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    section = config.get_section(config.config_ini_section) or {}
    section.setdefault("sqlalchemy.url", os.environ.get("DATABASE_URL", ""))
    if not section["sqlalchemy.url"]:
        from bot.settings import get_settings

        section["sqlalchemy.url"] = get_settings().database_url
    engine = engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool, future=True)
    with engine.connect() as conn:
        _run(conn)
