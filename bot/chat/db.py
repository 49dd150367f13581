"""Engine and sessions of the chat store; nothing is connected at import time.

SQLite is the default (a file in ``build/``, enough for the demo and one web-app process);
PostgreSQL is used through a ``postgresql://`` URL (``DATABASE_URL``).

A SQLite database holds chat texts, so its files are readable by their owner only (``0600``:
the database, and its ``-wal`` and ``-shm`` files, which SQLite creates with the database's
mode), and deleted text does not stay in them: ``secure_delete`` overwrites what a ``DELETE``
frees, and :func:`wipe_deleted` (called after every deletion of conversations) copies the
write-ahead log into the database and truncates it, so no old page image of a deleted
conversation is left in ``chat.db-wal``. Typical use::

    engine = make_engine(url)
    create_schema(engine)                  # on start: Alembic migrations to the newest schema
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:      # one transaction: commit on success, else rollback
        conversation = repository.create_conversation(session=session)
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.engine import Engine, create_engine, make_url
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool

from bot.settings import REPO_ROOT

DEFAULT_DATABASE_URL: Final = f"sqlite:///{REPO_ROOT / 'build' / 'chat.db'}"
# How long a SQLite writer waits for another one to finish (s); the web app writes short
# transactions, so waiting beats failing with "database is locked".
SQLITE_BUSY_TIMEOUT_S: Final = 15.0
OWNER_ONLY: Final = 0o600


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # SQLite ignores foreign keys unless asked on every connection; without them deleting a
        # conversation would leave its messages behind.
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL lets the agents' console read while the widget writes. In-memory databases
        # answer "memory" and keep their journal mode, which is fine.
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL syncs at checkpoints instead of every commit: a crash of the app
        # loses nothing, and only a power failure can lose the last commits. Every commit's
        # fsync was the largest single cost of a chat turn (docs/benchmarks/web-app.md).
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Pages freed by a DELETE are overwritten with zeros: a deleted conversation's text is
        # not left in the file (privacy; the WAL: wipe_deleted).
        cursor.execute("PRAGMA secure_delete=ON")
    finally:
        cursor.close()


def make_engine(
    url: str = DEFAULT_DATABASE_URL,
    *,
    connect_args: Mapping[str, Any] | None = None,
    echo: bool = False,
) -> Engine:
    """Create the engine of the chat store.

    Args:
        url: a SQLAlchemy URL; for a SQLite file the directory is created.
        connect_args: passed to the DB-API ``connect()`` (e.g. PostgreSQL
            ``{"options": "-csearch_path=myschema"}``).
        echo: log every SQL statement (debugging only: statements carry chat texts).

    Returns:
        A 2.0-style (``future=True``) engine; SQLite connections have foreign keys on and WAL.
    """
    parsed = make_url(url)
    args: dict[str, Any] = dict(connect_args or {})
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            _owner_only(Path(database))
        args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_S)
        pool: dict[str, Any] = {}
        if database and database != ":memory:":
            # SQLAlchemy 1.4 opens a new SQLite connection per session (NullPool); a pool of
            # connections saves the connect and the PRAGMAs on every request. Sessions never
            # share a connection at once, so using one from another thread is safe.
            args.setdefault("check_same_thread", False)
            pool = {"poolclass": QueuePool, "pool_size": 5, "max_overflow": 10}
        engine = create_engine(url, future=True, echo=echo, connect_args=args, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        # No JIT compilation: PostgreSQL compiles a query whose *estimated* cost is high, and the
        # KPI dashboard's grouped queries over a full store spent longer compiling than running
        # (docs/benchmarks/kpi-dashboard.md). Every query of this store is short; none gains.
        # A caller's own ``-c jit=…`` wins (the benchmark compares).
        options = str(args.get("options", ""))
        if "jit=" not in options:
            args["options"] = f"{options} -c jit=off".strip()
    # pre_ping replaces connections the server closed while idle (restarts, idle timeouts).
    return create_engine(url, future=True, echo=echo, connect_args=args, pool_pre_ping=True)


def _owner_only(database: Path) -> None:
    """Create the SQLite file with mode 0600 (or set it): only its owner reads chat texts.

    SQLite creates the ``-wal`` and ``-shm`` files with the mode of the database; existing ones
    from before are set too.
    """
    database.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY))
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mode & 0o777 != OWNER_ONLY:
                path.chmod(OWNER_ONLY)


def wipe_deleted(engine: Engine) -> bool:
    """After a deletion: leave no deleted text in the SQLite files (nothing to do elsewhere).

    ``wal_checkpoint(TRUNCATE)`` writes the log into the database (where ``secure_delete``
    zeroed the freed pages) and truncates ``-wal`` to zero bytes. It waits for readers up to the
    busy timeout; when one still holds an old snapshot the log is not truncated this time (the
    next deletion or checkpoint does it).

    Returns:
        True when the log was truncated (or the database is no SQLite file).
    """
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return True
    with engine.connect() as connection:
        busy, _, _ = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    return not busy


def make_sessionmaker(engine: Engine) -> sessionmaker:
    """Return the session factory; objects stay readable after commit (``expire_on_commit=False``).

    Args:
        engine: from ``make_engine``.
    """
    # expire_on_commit=False: the web app returns rows as JSON after the commit, without a
    # second round trip per attribute.
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)


def create_schema(engine: Engine) -> None:
    """Bring the database to the newest schema with the Alembic migrations (``bot/migrations``).

    A database created before migrations existed is recognised and upgraded in place.

    Args:
        engine: from ``make_engine``.
    """
    from bot.migrations import migrate  # Alembic is loaded only by processes that migrate

    migrate(engine)
