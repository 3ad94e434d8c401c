"""The database alone, for the commands that only read or write rows (no Temporal needed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from booking_notifications.db.migrate import check_schema
from booking_notifications.db.session import Sessions, make_engine, make_sessions
from booking_notifications.settings import Settings


@asynccontextmanager
async def database_only(settings: Settings) -> AsyncIterator[Sessions]:
    """Sessions on the database at our revision: works while Temporal is down."""
    engine = make_engine(settings.db_url)
    try:
        await check_schema(engine)
        yield make_sessions(engine)
    finally:
        await engine.dispose()
