"""Revision 0009 adds the booking's page (``bn_bookings.url``), up and down, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from booking_notifications.db.migrate import downgrade, upgrade
from booking_notifications.db.session import make_engine


async def _columns(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        found = await conn.run_sync(lambda c: inspect(c).get_columns("bn_bookings"))
    return {column["name"] for column in found}


async def _titles(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return list(
            (await conn.execute(text("SELECT title FROM bn_bookings ORDER BY id"))).scalars()
        )


async def test_0009_adds_the_url_and_takes_it_away_keeping_every_booking(
    empty_db_url: str,
) -> None:
    engine = make_engine(empty_db_url)
    try:
        await upgrade(engine, "0007")
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO bn_users (id, chat_id) VALUES (1, 1)"))
            await conn.execute(
                text(
                    "INSERT INTO bn_bookings (uid, user_id, title, starts_at, ends_at) "
                    "VALUES ('u1', 1, 'Court 3', :at, :at)"
                ),
                {"at": datetime.now(UTC)},
            )
        before = await _columns(engine)
        await upgrade(engine, "0009")
        up = await _columns(engine)
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE bn_bookings SET url = :url"), {"url": "https://x.test/1"}
            )
            url = (await conn.execute(text("SELECT url FROM bn_bookings"))).scalar_one()
        await downgrade(engine, "0007")
        down, titles = await _columns(engine), await _titles(engine)
    finally:
        await downgrade(engine)
        await engine.dispose()

    assert "url" not in before and "url" in up and url == "https://x.test/1"
    assert "url" not in down and titles == ["Court 3"]
