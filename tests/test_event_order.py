"""Paging through events while they are written: 10,000 events from concurrent transactions, read
page by page as they commit, arrive without a gap or a repeat (``seq`` is commit order)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

from sqlalchemy import func, select

from booking_notifications.api.events import page
from booking_notifications.db.events import EventType, emit
from booking_notifications.db.models import Event
from booking_notifications.db.session import make_engine, make_sessions

WRITERS, TRANSACTIONS, PER_TRANSACTION = 8, 125, 10
TOTAL = WRITERS * TRANSACTIONS * PER_TRANSACTION


async def test_a_reader_pages_through_10000_events_written_concurrently_without_gaps_or_repeats(
    db_url: str,
) -> None:
    engine = make_engine(db_url)
    sessions = make_sessions(engine)
    writing = True
    read: list[int] = []
    pages = 0

    async def writer(number: int) -> None:
        rng = random.Random(number)
        for transaction in range(TRANSACTIONS):
            async with sessions() as session:
                for item in range(PER_TRANSACTION):
                    emit(
                        session,
                        EventType.NOTICE_SENT,
                        at=datetime.now(UTC),
                        booking_id=number * 10_000 + transaction,
                        notice_key=f"n{item}",
                    )
                await asyncio.sleep(rng.random() / 1000)  # transactions interleave
                await session.commit()

    async def reader() -> None:
        nonlocal pages
        cursor = 0
        while True:
            done = not writing  # read once more after the last commit
            while batch := await page(sessions, cursor, 100, failed=False):
                read.extend(event.seq for event in batch)
                cursor = batch[-1].seq
                pages += 1
            if done:
                return
            await asyncio.sleep(0)

    try:
        reading = asyncio.create_task(reader())
        await asyncio.gather(*(writer(n) for n in range(WRITERS)))
        writing = False
        await reading
        everything = [e.seq for e in await page(sessions, 0, 1000, failed=False)]
        async with sessions() as session:
            stored = list(await session.scalars(select(Event.seq).order_by(Event.seq)))
            count = await session.scalar(select(func.count()).select_from(Event))
    finally:
        await engine.dispose()

    assert count == TOTAL
    assert len(read) == len(set(read)) == TOTAL  # no repeats, nothing missed
    assert read == stored
    assert everything == stored[:1000]
    assert pages > TOTAL // 100  # the reader really read while the writers wrote
