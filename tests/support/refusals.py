"""A database that refuses to record a notice as SENT, as a database failing at that moment does.

A trigger, on SQLite or PostgreSQL alike: the UPDATE that says SENT fails inside the database
(the statement and its transaction are rolled back), while every other write goes through. It
stands for the failures that can fall between Telegram's answer and the row: the database going
down, a pool with no connection to give, a lock held past the timeout.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text

from booking_notifications.db.session import Sessions

REFUSAL = "the database refused to record the send"

SQLITE = [
    f"""CREATE TRIGGER bn_test_refuse_sent BEFORE UPDATE OF status ON bn_notifications
    WHEN NEW.status = 'SENT' BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END""",
]
POSTGRES = [
    f"""CREATE FUNCTION bn_test_refuse_sent() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER bn_test_refuse_sent BEFORE UPDATE OF status ON bn_notifications
    FOR EACH ROW WHEN (NEW.status = 'SENT') EXECUTE FUNCTION bn_test_refuse_sent()""",
]
DROP_SQLITE = ["DROP TRIGGER IF EXISTS bn_test_refuse_sent"]
DROP_POSTGRES = [
    "DROP TRIGGER IF EXISTS bn_test_refuse_sent ON bn_notifications",
    "DROP FUNCTION IF EXISTS bn_test_refuse_sent()",
]


@asynccontextmanager
async def refusing_sent(sessions: Sessions) -> AsyncIterator[None]:
    """The database refuses SENT until the block ends."""
    async with sessions() as session:
        postgres = session.get_bind().dialect.name == "postgresql"
    await _run(sessions, POSTGRES if postgres else SQLITE)
    try:
        yield
    finally:
        await _run(sessions, DROP_POSTGRES if postgres else DROP_SQLITE)


async def _run(sessions: Sessions, statements: list[str]) -> None:
    async with sessions() as session:
        for statement in statements:
            await session.execute(text(statement))
        await session.commit()
