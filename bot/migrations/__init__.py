"""Alembic migrations of the web app's database (chat store and editors' content).

``bot.migrations.migrate(engine)`` brings a database to the newest schema; the web app calls it
on start. From the shell: ``.venv/bin/alembic upgrade head`` (alembic.ini; ``DATABASE_URL``).
A new migration: change the models, then
``.venv/bin/alembic revision --autogenerate -m "what changed"`` and review the file.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

SCRIPT_LOCATION = Path(__file__).resolve().parent
# The schema the web app had before migrations existed (issue 4, ``create_all``): a database
# with these tables and no ``alembic_version`` is stamped at this revision, then upgraded.
BASELINE_REVISION = "0001_chat"


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Autogenerate's filter: SQLite's ``sqlite_sequence`` (``AUTOINCREMENT``) is not ours."""
    return not (type_ == "table" and name == "sqlite_sequence")


def alembic_config(url: str | None = None) -> Config:
    """The Alembic configuration of this package (no ini file needed)."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


def migrate(engine: Engine) -> None:
    """Upgrade the database of ``engine`` to the newest revision (idempotent).

    On SQLite foreign keys are off while the migrations run: a migration that rebuilds a table
    (batch mode: copy, ``DROP TABLE``, rename) must not fire the ``ON DELETE`` actions of the
    tables referring to it. They are checked afterwards; a violation fails the migration.

    Raises:
        RuntimeError: SQLite found rows violating a foreign key after migrating.
    """
    config = alembic_config()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Only outside a transaction does this take effect; pysqlite opens none for a PRAGMA.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                tables = set(inspect(connection).get_table_names())
                if "alembic_version" not in tables and "conversations" in tables:
                    command.stamp(config, BASELINE_REVISION)
                command.upgrade(config, "head")
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"foreign keys violated after migrating: {broken[:5]}")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
