"""Run the Alembic migrations shipped inside the package, from sync or async code.

Our history lives in its own version table, ``bn_alembic_version``, beside our ``bn_`` tables, so
a booking service that shares the database keeps its own ``alembic_version`` and tables untouched.

Databases made by version 0.1 had unprefixed tables (``users``, ``bookings``, ``notifications``)
and kept our revision in the default ``alembic_version``. ``upgrade`` adopts such a database once:
it builds our tables at the same revision, copies every row (ids included), drops the old tables
and moves the revision into our version table, all in the one transaction of the upgrade.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

SCRIPT_LOCATION = "booking_notifications:migrations"
VERSION_TABLE = "bn_alembic_version"
LEGACY_VERSION_TABLE = "alembic_version"
LEGACY_REVISIONS = ("0001", "0002", "0003", "0004")
"""The revisions 0.1 shipped; a database at one of them under the old names can be adopted."""
LEGACY_TABLES = {
    "users": "bn_users",
    "bookings": "bn_bookings",
    "notifications": "bn_notifications",
}
"""0.1's table names and ours, in foreign-key order (parents first)."""


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for our revisions; with a connection, env.py runs on it."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


class SchemaMismatch(RuntimeError):
    """The database is not at the revision this version of the code needs."""


async def check_schema(engine: AsyncEngine) -> None:
    """Raise ``SchemaMismatch`` when the database lacks revisions this version needs.

    A worker on a database that was never migrated starts, then fails every activity while
    looking alive; this check stops it at start instead. A revision we do not know was made by
    a newer version (a rolling deploy): our revisions only add, so that is logged, not refused.
    """
    if missing := _missing_sqlite_file(engine):
        raise SchemaMismatch(f"there is no database at {missing}: run `booking-notify migrate`")
    async with engine.connect() as conn:
        current = await conn.run_sync(_current_revision)
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    if current == head:
        return
    if current is not None and current not in {rev.revision for rev in script.walk_revisions()}:
        log.warning("the database is at revision %s, newer than this version's %s", current, head)
        return
    raise SchemaMismatch(
        f"the database is at revision {current or 'none'}, this version needs {head}: "
        "run `booking-notify migrate` (with the same DATABASE_URL)"
    )


def _missing_sqlite_file(engine: AsyncEngine) -> str | None:
    """The SQLite file the engine names, when it does not exist: connecting would make an empty
    one (or fail on a missing folder, with a thread traceback from aiosqlite at exit)."""
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and not Path(database).exists():
        return database
    return None


def _current_revision(connection: Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (idempotent), adopting a 0.1 database first."""
    async with engine.connect() as conn:
        await conn.run_sync(_migrating, lambda sync: _upgrade(sync, revision))


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    async with engine.connect() as conn:
        await conn.run_sync(
            _migrating, lambda sync: command.downgrade(alembic_config(sync), revision)
        )


def _migrating(connection: Connection, work: Callable[[Connection], None]) -> None:
    """Run ``work`` in one transaction; on SQLite with foreign keys off while it runs.

    SQLite alters a table by copying it and dropping the original; with foreign keys on, that
    drop deletes every row that refers to the table through ON DELETE CASCADE. The pragma only
    takes effect outside a transaction, so it is set before and restored after, and the
    references are checked before the commit.
    """
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        with connection.begin():
            work(connection)
            if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                raise RuntimeError("the migration left rows referring to missing rows")
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


def _upgrade(connection: Connection, revision: str) -> None:
    legacy = legacy_revision(connection)
    if legacy is not None:
        _adopt(connection, legacy)
    command.upgrade(alembic_config(connection), revision)


def legacy_revision(connection: Connection) -> str | None:
    """The revision of a 0.1 database under the old names, or None when this is not one.

    A host application's own ``alembic_version`` is left alone: it must hold one of our 0.1
    revisions *and* the old tables must have our notice columns.
    """
    inspector = inspect(connection)
    tables = set(inspector.get_table_names())
    if VERSION_TABLE in tables or LEGACY_VERSION_TABLE not in tables:
        return None
    if not set(LEGACY_TABLES) <= tables:
        return None
    columns = {c["name"] for c in inspector.get_columns("notifications")}
    if not {"booking_id", "key", "due_at", "latest_at"} <= columns:
        return None
    versions = list(connection.scalars(text(f"SELECT version_num FROM {LEGACY_VERSION_TABLE}")))
    ours = [v for v in versions if v in LEGACY_REVISIONS]
    return ours[0] if len(ours) == 1 else None


def _adopt(connection: Connection, revision: str) -> None:
    """Move a 0.1 database at ``revision`` under our names, rows and ids included."""
    command.upgrade(alembic_config(connection), revision)
    for old, new in LEGACY_TABLES.items():
        names = ", ".join(c["name"] for c in inspect(connection).get_columns(new))
        connection.execute(text(f"INSERT INTO {new} ({names}) SELECT {names} FROM {old}"))
        if connection.dialect.name == "postgresql":
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{new}', 'id'), "
                    f"coalesce((SELECT max(id) FROM {new}), 0) + 1, false)"
                )
            )
    for old in reversed(LEGACY_TABLES):
        connection.execute(text(f"DROP TABLE {old}"))
    connection.execute(
        text(f"DELETE FROM {LEGACY_VERSION_TABLE} WHERE version_num = :v"), {"v": revision}
    )
    if connection.scalar(text(f"SELECT count(*) FROM {LEGACY_VERSION_TABLE}")) == 0:
        connection.execute(text(f"DROP TABLE {LEGACY_VERSION_TABLE}"))
