"""A migrated database (SQLite file, and PostgreSQL where a test asks for both) with content."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.chat.db import create_schema, make_engine, make_sessionmaker
from bot.content.repository import Actor
from tests.chat.test_repository import POSTGRES_URL

EDITOR = Actor(None, "Erika")  # replaced by real users in ``editors``


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    """A fresh schema on the local PostgreSQL server, migrated; dropped afterwards."""
    admin = create_engine(POSTGRES_URL, future=True)
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.orig}")
    schema = f"c_{secrets.token_hex(6)}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'content.db'}")
    else:
        engine = request.getfixturevalue("pg_engine")
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with make_sessionmaker(engine)() as session:
        yield session


@pytest.fixture
def editors(session: Session) -> tuple[Actor, Actor]:
    """Two editors (real users, so author/reviewer ids differ)."""
    from bot.web.users import set_user  # the application environment's (password hashing)

    actors = []
    for name in ("erika", "emil"):
        user = set_user(session=session, username=name, role="editor",
                        display_name=name.title(), password="geheim-123456")
        session.flush()
        actors.append(Actor(user.id, user.display_name))
    return actors[0], actors[1]
