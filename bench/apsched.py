"""The APScheduler peer: ``python -m bench.apsched``.

APScheduler 3's ``AsyncIOScheduler`` with a ``SQLAlchemyJobStore`` (synchronous SQLAlchemy, so a
``sqlite:///`` URL) and one date-triggered job per notice. A scheduler only notices jobs added
through itself, so booking code adds jobs in this process: the harness sends commands as JSON
lines on stdin and reads each reply from the file the command names.

``misfire_grace_time`` is 15 minutes, the product's tolerance for a start notice; APScheduler's
default of 1 s would silently drop every job that runs more than a second late.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiogram import Bot
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bench.sender import make_bot, send_waiting

MISFIRE_GRACE_S = 15 * 60
_bot: Bot | None = None


async def deliver(chat_id: int, text: str) -> None:
    """The job: send one notice (a module-level function, as persistent job stores require)."""
    assert _bot is not None
    await send_waiting(_bot, chat_id, text)


def handle(scheduler: AsyncIOScheduler, command: dict[str, Any]) -> dict[str, Any]:
    """Add jobs (timing each ``add_job``) or cancel one (remove it, announce it at once)."""
    if command["op"] == "schedule":
        latencies = []
        for chat_id, due, text in command["items"]:
            started = time.perf_counter()
            scheduler.add_job(
                deliver,
                "date",
                run_date=datetime.fromtimestamp(due, UTC),
                args=[chat_id, text],
                id=str(chat_id),
            )
            latencies.append(time.perf_counter() - started)
        return {"latencies": latencies}
    if command["op"] == "cancel":
        scheduler.remove_job(str(command["chat_id"]))
        scheduler.add_job(
            deliver,
            "date",
            run_date=datetime.now(UTC),
            args=[command["chat_id"], command["text"]],
            id=f"cancel-{command['chat_id']}",
        )
        return {}
    raise ValueError(f"unknown op {command['op']!r}")


async def serve(args: argparse.Namespace) -> None:
    global _bot
    _bot = make_bot(args.token, args.api_url)
    scheduler = AsyncIOScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=args.db)},
        job_defaults={"misfire_grace_time": MISFIRE_GRACE_S},
        timezone=UTC,
    )
    scheduler.start()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print("apscheduler ready", flush=True)

    async def commands() -> None:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            command = json.loads(line)
            reply = Path(command["reply"])
            tmp = reply.with_suffix(".tmp")
            tmp.write_text(json.dumps(handle(scheduler, command)))
            tmp.rename(reply)

    reader = asyncio.create_task(commands())
    await stop.wait()
    reader.cancel()
    scheduler.shutdown(wait=False)
    await _bot.session.close()
    os._exit(0)  # the stdin reader thread would keep asyncio.run from returning


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True, help="a synchronous SQLAlchemy URL")
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--token", required=True)
    asyncio.run(serve(parser.parse_args()))
    os._exit(0)


if __name__ == "__main__":
    main()
