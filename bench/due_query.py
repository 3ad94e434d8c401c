"""``python -m bench.due_query [--rows N] [--postgres URL]``: what the due-but-not-sent count costs.

Fills a fresh database (SQLite file, and PostgreSQL when ``--postgres`` names a server) with
``--rows`` notice rows shaped like a service that has run for a while: most past notices SENT
(some FAILED, SKIPPED, CANCELLED), the future ones PENDING, and ``OVERDUE`` PENDING rows past
their due time. Then runs the gauge's query (``observe.due.due_not_sent``) ``REPEATS`` times and
prints its plan and its median and worst time, as pasted into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from booking_notifications.core.domain import NoticeKind, NoticeStatus
from booking_notifications.db.migrate import upgrade
from booking_notifications.db.models import Booking, Notification, User
from booking_notifications.db.session import make_engine, make_sessions
from booking_notifications.observe.due import count_due_not_sent, due_not_sent
from booking_notifications.settings import database_url

PER_BOOKING = 10
OVERDUE = 50
REPEATS = 21
CHUNK = 5_000
DATABASE = "bn_bench_due_query"


def _status(i: int, due: datetime, now: datetime) -> NoticeStatus:
    if due > now:
        return NoticeStatus.PENDING
    return (
        NoticeStatus.FAILED,
        NoticeStatus.SKIPPED,
        NoticeStatus.CANCELLED,
        *(NoticeStatus.SENT,) * 17,
    )[i % 20]


async def fill(engine: AsyncEngine, rows: int, now: datetime) -> None:
    """``rows`` notices over ``rows / PER_BOOKING`` bookings of one user, due from 30 days ago
    to 30 days ahead, plus ``OVERDUE`` PENDING ones an hour late."""
    await upgrade(engine)
    span = timedelta(days=60).total_seconds()
    async with engine.begin() as connection:
        user_id = (
            await connection.execute(insert(User).values(chat_id=1).returning(User.id))
        ).scalar_one()
        bookings = rows // PER_BOOKING
        for first in range(0, bookings, CHUNK):
            await connection.execute(
                insert(Booking),
                [
                    {
                        "id": b + 1,
                        "uid": uuid.uuid4().hex,
                        "user_id": user_id,
                        "starts_at": now,
                        "ends_at": now + timedelta(hours=1),
                    }
                    for b in range(first, min(first + CHUNK, bookings))
                ],
            )
        for first in range(0, rows, CHUNK):
            batch: list[dict[str, Any]] = []
            for i in range(first, min(first + CHUNK, rows)):
                due = now - timedelta(days=30) + timedelta(seconds=span * i / rows)
                late = i < OVERDUE
                if late:
                    due = now - timedelta(hours=1)
                batch.append(
                    {
                        "booking_id": i // PER_BOOKING + 1,
                        "key": f"n{i % PER_BOOKING}",
                        "kind": NoticeKind.REMINDER,
                        "due_at": due,
                        "latest_at": due + timedelta(hours=1),
                        "status": NoticeStatus.PENDING if late else _status(i, due, now),
                    }
                )
            await connection.execute(insert(Notification), batch)
    async with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(text("ANALYZE bn_notifications"))
        else:
            await connection.execute(text("ANALYZE"))
        await connection.commit()


async def plan(engine: AsyncEngine, now: datetime) -> str:
    """The database's plan for the gauge's query."""
    query = due_not_sent(now).compile(engine, compile_kwargs={"literal_binds": True})
    explain = "EXPLAIN ANALYZE" if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN"
    async with engine.connect() as connection:
        result = await connection.execute(text(f"{explain} {query}"))
        return "\n".join(" ".join(str(c) for c in row) for row in result)


async def measure(engine: AsyncEngine, now: datetime) -> dict[str, Any]:
    sessions = make_sessions(engine)
    found = await count_due_not_sent(sessions, now)  # warm: the steady state of a 15 s loop
    times = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        await count_due_not_sent(sessions, now)
        times.append((time.perf_counter() - began) * 1000)
    return {
        "count": found,
        "median_ms": round(statistics.median(times), 2),
        "max_ms": round(max(times), 2),
        "plan": await plan(engine, now),
    }


async def one(name: str, url: str, rows: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    engine = make_engine(url)
    try:
        began = time.perf_counter()
        await fill(engine, rows, now)
        print(f"[{name}] {rows:,} rows in {time.perf_counter() - began:.0f} s", file=sys.stderr)
        return await measure(engine, now)
    finally:
        await engine.dispose()


async def fresh_postgres(admin_url: str) -> str:
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}"')
        await connection.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await connection.close()
    return database_url(admin_url.rsplit("/", 1)[0] + f"/{DATABASE}")


async def drop_postgres(admin_url: str) -> None:
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}"')
    finally:
        await connection.close()


async def main(rows: int, postgres: str | None) -> None:
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-due-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'due.db'}"
        results["SQLite"] = await one("SQLite", url, rows)
    if postgres is not None:
        try:
            url = await fresh_postgres(postgres)
            results["PostgreSQL"] = await one("PostgreSQL", url, rows)
        finally:
            await drop_postgres(postgres)
    print(f"| database | rows | overdue found | median | worst of {REPEATS} |")
    print("| --- | --- | --- | --- | --- |")
    for name, r in results.items():
        print(f"| {name} | {rows:,} | {r['count']} | {r['median_ms']} ms | {r['max_ms']} ms |")
    for name, r in results.items():
        print(f"\n{name} plan:\n```\n{r['plan']}\n```")


if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="python -m bench.due_query", description=__doc__)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--postgres", help="an admin URL, e.g. postgresql://postgres@127.0.0.1/postgres")
    args = p.parse_args()
    asyncio.run(main(args.rows, args.postgres))
