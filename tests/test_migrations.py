"""The Alembic revisions and the SQLAlchemy models describe the same schema, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from booking_notifications.db.migrate import downgrade, upgrade
from booking_notifications.db.models import Base
from booking_notifications.db.session import make_engine


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_the_migrations_build_exactly_the_models(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
    finally:
        await downgrade(engine)
        await engine.dispose()


async def test_the_migrations_run_down_to_nothing_and_up_again(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        await upgrade(engine)
        await upgrade(engine)  # a second run is a no-op
        await downgrade(engine)
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert set(tables) <= {"alembic_version"}
        await upgrade(engine)
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert {"users", "bookings", "notifications"} <= set(tables)
    finally:
        await downgrade(engine)
        await engine.dispose()
