"""``python -m bench.event_heads [--delivered N] [--postgres URL]``: what the relay's look costs.

The webhook relay looks at the outbox twice a second (``activities.events.EventRelay._heads``:
expire what outlived its window, find the oldest pending event of every stream). Delivered
events stay for the retention's 30 days, so the look must not grow with them: this fills a
fresh database (SQLite, and PostgreSQL when ``--postgres`` names a server) with ``--delivered``
delivered events and ``PENDING`` pending ones in ``STREAMS`` bookings, then times the look
``REPEATS`` times and prints the median and the worst, as pasted into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

from bench.due_query import drop_postgres, fresh_postgres
from booking_notifications.activities.events import EventRelay
from booking_notifications.db.migrate import upgrade
from booking_notifications.db.models import Event
from booking_notifications.db.session import make_engine, make_sessions

PENDING, STREAMS, REPEATS, CHUNK = 100, 30, 21, 10_000


async def one(url: str, delivered: int) -> tuple[int, float, float]:
    """Heads found, median and worst milliseconds of the look."""
    engine = make_engine(url)
    try:
        await upgrade(engine)
        sessions = make_sessions(engine)
        now = datetime.now(UTC)
        async with sessions() as session:
            for start in range(0, delivered, CHUNK):
                rows = [
                    {"type": "notice.sent", "occurred_at": now - timedelta(days=1),
                     "stream": f"booking:{n}", "booking_id": n, "data": {}, "delivered_at": now}
                    for n in range(start, min(start + CHUNK, delivered))
                ]  # fmt: skip
                await session.execute(insert(Event), rows)
            pending = [
                {"type": "notice.sent", "occurred_at": now, "stream": f"booking:{n % STREAMS}",
                 "booking_id": n % STREAMS, "data": {}}
                for n in range(PENDING)
            ]  # fmt: skip
            await session.execute(insert(Event), pending)
            await session.commit()
            if engine.dialect.name == "postgresql":
                await session.execute(text("ANALYZE bn_events"))
        relay = EventRelay(sessions, None, retry_for=timedelta(hours=24), retention=timedelta(30))
        times, heads = [], 0
        for _ in range(REPEATS):
            began = time.perf_counter()
            heads = len(await relay._heads(datetime.now(UTC)))
            times.append((time.perf_counter() - began) * 1000)
        return heads, statistics.median(times), max(times)
    finally:
        await engine.dispose()


async def main(delivered: int, postgres: str | None) -> None:
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-events-") as folder:
        results["SQLite"] = await one(f"sqlite+aiosqlite:///{Path(folder) / 'e.db'}", delivered)
    if postgres is not None:
        try:
            results["PostgreSQL"] = await one(await fresh_postgres(postgres), delivered)
        finally:
            await drop_postgres(postgres)
    print(f"| database | delivered kept | pending | heads found | median | worst of {REPEATS} |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, (heads, median, worst) in results.items():
        print(
            f"| {name} | {delivered:,} | {PENDING} | {heads} | {median:.2f} ms | {worst:.2f} ms |"
        )


if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="python -m bench.event_heads", description=__doc__)
    p.add_argument("--delivered", type=int, default=200_000)
    p.add_argument("--postgres", help="an admin URL (a scratch database is made and dropped)")
    asyncio.run(main(**vars(p.parse_args())))
