"""The API's database, opened: an engine on a database at our migrations' head, or our error."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from booking_notifications.db.migrate import check_schema
from booking_notifications.db.session import location, make_engine
from booking_notifications.errors import database_unavailable, is_database_outage


async def open_checked(url: str) -> AsyncEngine:
    """An engine on ``url``, once the database there is known to have our migrations.

    Raises:
        SchemaMismatch: the database lacks our migrations (``booking-notify migrate``).
        DatabaseUnavailable: the database cannot be reached.
    """
    engine = make_engine(url)
    try:
        await check_schema(engine)
    except BaseException as err:
        await engine.dispose()
        if isinstance(err, Exception) and is_database_outage(err):
            raise database_unavailable(location(engine.url), err) from err
        raise
    return engine
