"""The polling peer, as a first implementation writes it: ``python -m bench.polling``.

A ``notifications`` table of its own; every ``check_interval`` seconds one batch of at most
``batch_size`` due PENDING rows is claimed (PROCESSING), sent one after another through aiogram,
and marked SENT (or FAILED). Defaults 60 s and 50, as in the checklist this product replaces.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import time

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench.sender import make_bot, send_waiting

metadata = MetaData()
notices = Table(
    "poll_notifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chat_id", Integer, nullable=False),
    Column("text", String(512), nullable=False),
    Column("due_at", Float, nullable=False),
    Column("status", String(16), nullable=False, default="PENDING"),
    Column("sent_at", Float),
    Index("ix_poll_status_due", "status", "due_at"),
)


def make_engine(url: str) -> AsyncEngine:
    """The peer's engine; SQLite waits for the other process's writes instead of failing."""
    return create_async_engine(url, connect_args={"timeout": 30})


async def create_schema(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        await conn.run_sync(metadata.create_all)


class PollingScheduler:
    """``process_batch`` claims, sends and marks one batch; ``run`` repeats it on a timer."""

    def __init__(self, engine: AsyncEngine, token: str, api_url: str, batch_size: int) -> None:
        self.engine = engine
        self.bot = make_bot(token, api_url)
        self.batch_size = batch_size

    async def process_batch(self) -> int:
        async with self.engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(notices.c.id, notices.c.chat_id, notices.c.text)
                    .where(notices.c.status == "PENDING")
                    .where(notices.c.due_at <= time.time())
                    .order_by(notices.c.due_at)
                    .limit(self.batch_size)
                )
            ).all()
            if rows:
                ids = [row.id for row in rows]
                await conn.execute(
                    update(notices).where(notices.c.id.in_(ids)).values(status="PROCESSING")
                )
        for row in rows:
            try:
                await send_waiting(self.bot, row.chat_id, row.text)
                status, sent_at = "SENT", time.time()
            except Exception:
                status, sent_at = "FAILED", None
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(notices)
                    .where(notices.c.id == row.id)
                    .values(status=status, sent_at=sent_at)
                )
        return len(rows)

    async def run(self, check_interval: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.process_batch()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=check_interval)


async def serve(args: argparse.Namespace) -> None:
    engine = make_engine(args.db)
    await create_schema(engine)
    scheduler = PollingScheduler(engine, args.token, args.api_url, args.batch_size)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    print("polling ready", flush=True)
    try:
        await scheduler.run(args.check_interval, stop)
    finally:
        await scheduler.bot.session.close()
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True, help="sqlite+aiosqlite:///… URL")
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--check-interval", type=float, default=60.0)
    parser.add_argument("--batch-size", type=int, default=50)
    asyncio.run(serve(parser.parse_args()))
    os._exit(0)


if __name__ == "__main__":
    main()
