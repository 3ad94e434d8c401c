"""Revision 0009 adds the booking's page and the edits of sent messages, up and down, on both
databases, keeping every row."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from booking_notifications.db.migrate import downgrade, upgrade
from booking_notifications.db.session import make_engine


async def _columns(engine: AsyncEngine) -> set[str]:
    """The columns of the bookings and notifications tables, as ``table.column``."""
    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda c: {
                f"{table}.{column['name']}"
                for table in ("bn_bookings", "bn_notifications")
                for column in inspect(c).get_columns(table)
            }
        )


async def _titles(engine: AsyncEngine, uid: str) -> list[str]:
    async with engine.connect() as conn:
        query = text("SELECT title FROM bn_bookings WHERE uid = :uid")
        return list((await conn.execute(query, {"uid": uid})).scalars())


async def test_0009_adds_the_url_and_takes_it_away_keeping_every_booking(
    empty_db_url: str,
) -> None:
    engine = make_engine(empty_db_url)
    uid, chat = uuid.uuid4().hex, 9_000_000 + uuid.uuid4().int % 1_000_000
    try:
        await downgrade(engine)  # PostgreSQL's test database is shared: left migrated by others
        await upgrade(engine, "0008")
        async with engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO bn_users (chat_id) VALUES (:chat)"), {"chat": chat}
            )
            user_id = (
                await conn.execute(
                    text("SELECT id FROM bn_users WHERE chat_id = :chat"), {"chat": chat}
                )
            ).scalar_one()
            await conn.execute(
                text(
                    "INSERT INTO bn_bookings (uid, user_id, title, starts_at, ends_at) "
                    "VALUES (:uid, :user, 'Court 3', :at, :at)"
                ),
                {"uid": uid, "user": user_id, "at": datetime.now(UTC)},
            )
        before = await _columns(engine)
        await upgrade(engine, "0009")
        up = await _columns(engine)
        async with engine.begin() as conn:
            where = {"uid": uid, "url": "https://x.test/1"}
            await conn.execute(text("UPDATE bn_bookings SET url = :url WHERE uid = :uid"), where)
            query = text("SELECT url FROM bn_bookings WHERE uid = :uid")
            url = (await conn.execute(query, {"uid": uid})).scalar_one()
        await downgrade(engine, "0008")
        down, titles = await _columns(engine), await _titles(engine, uid)
    finally:
        await downgrade(engine)
        await engine.dispose()

    added = {"bn_bookings.url", "bn_notifications.edited_at", "bn_notifications.edit_error"}
    assert not added & before and added <= up and url == "https://x.test/1"
    assert not added & down and titles == ["Court 3"]
