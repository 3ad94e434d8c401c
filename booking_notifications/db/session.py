"""Engines and sessions: one engine per process, one session per unit of work.

SQLite gets WAL, a busy timeout and foreign keys on every connection, so the worker's concurrent
activities wait for each other instead of failing with "database is locked".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from booking_notifications.errors import DatabaseUnavailable

Sessions = async_sessionmaker[AsyncSession]


class DatabaseUnreachable(DatabaseUnavailable):
    """The database server could not be reached (unknown host, refused port, timeout); the
    message names the host and port, never the password."""


def location(url: URL) -> str:
    """Where a database is, for a message: ``host:port`` of a server, the path of a file."""
    if url.get_backend_name() == "sqlite":
        return url.database or "memory"
    return f"{url.host or 'localhost'}:{url.port or 5432}"


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for a ``sqlite+aiosqlite`` or ``postgresql+asyncpg`` URL."""
    engine = create_async_engine(url, pool_pre_ping=True, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        event.listen(engine.sync_engine, "do_connect", _connect_or_say_where)
    return engine


def make_sessions(engine: AsyncEngine) -> Sessions:
    return async_sessionmaker(engine, expire_on_commit=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _connect_or_say_where(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
    """Connect; a network failure becomes one line naming the server (the driver's own error
    comes with a traceback of the connection machinery and no hint of which server it was)."""
    try:
        return dialect.connect(*cargs, **cparams)
    except OSError as err:
        where = f"{cparams.get('host', 'localhost')}:{cparams.get('port', 5432)}"
        reason = (err.strerror or str(err) or type(err).__name__).lower()
        raise DatabaseUnreachable(f"the database at {where} is unreachable ({reason})") from None
