"""How fast new bookings are absorbed (issue 20, target 5).

``python -m bench.absorb [--databases sqlite,postgres] [--rates 25,50,75,100] [--seconds 30]
[--batch 10000] [--callers 11] [--callers-for 20]``

On a fresh ``booking-notify`` stack per database (the dev server, ``booking-notify worker`` in
its own process, the API in this one; ``bench.systems``):

- **Sustained rates.** ``schedule`` is called at each ``--rates`` value for ``--seconds``
  (bookings two days ahead with the default notices, so nothing is sent). The lag of a booking
  is, from its workflow's history, the time from ``WorkflowExecutionStarted`` to its first
  ``WorkflowTaskStarted``: how long a new booking waits for the worker's first look. The
  rate at which the lag starts to grow is the first whose last third lags more than its first.
- **A batch.** ``schedule_many`` of ``--batch`` bookings in one call, against ``--batch`` bare
  ``start_workflow`` calls (16 in flight, as ``schedule_many`` starts them) on the same server
  in the same run: bookings per second and the ratio.
- **One call among others.** ``--callers`` loops call ``schedule`` back to back for
  ``--callers-for`` seconds: the latency of one call while the others run (p50 / p99).

It prints one JSON object, per database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench.bare_workflow import BareInput, BareReminder
from bench.measure import latency_metrics, quantile, rounded
from bench.systems import BookingNotify, running
from booking_notifications.api.requests import DEFAULT_REMINDERS, BookingRequest
from booking_notifications.api.starts import CONCURRENCY
from booking_notifications.testing.fake_telegram import FakeTelegram

AHEAD = timedelta(days=2)
SAMPLE = 300
"""Histories read per rate step (evenly spread over the step's bookings)."""


async def first_task_lag(client: Client, workflow_id: str) -> float | None:
    """Seconds from the run's start to its first workflow task, or None before that task."""
    started = None
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            started = event.event_time.ToDatetime()
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            assert started is not None
            return (event.event_time.ToDatetime() - started).total_seconds()
    return None


async def lags(client: Client, workflow_ids: list[str]) -> list[float | None]:
    """The first-task lag of each workflow (16 histories read at once)."""
    limit = asyncio.Semaphore(16)

    async def one(workflow_id: str) -> float | None:
        async with limit:
            return await first_task_lag(client, workflow_id)

    return list(await asyncio.gather(*(one(w) for w in workflow_ids)))


async def settled(client: Client, workflow_ids: list[str], give_up_after: float) -> float:
    """Wait until the last of ``workflow_ids`` (the last started) have had their first task;
    the seconds waited."""
    began = time.monotonic()
    last = workflow_ids[-20:]
    while time.monotonic() - began < give_up_after:
        if None not in await lags(client, last):
            break
        await asyncio.sleep(0.5)
    return time.monotonic() - began


def _request(chat_id: int, starts: datetime) -> BookingRequest:
    return BookingRequest(
        chat_id=chat_id,
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        title=f"absorb {chat_id}",
        reminders=DEFAULT_REMINDERS,
    )


class Absorb:
    """The three measurements on one running ``booking-notify`` stack."""

    def __init__(self, system: BookingNotify) -> None:
        self.system = system
        self.chats = iter(range(3_000_000, 10**9))

    def _next(self) -> BookingRequest:
        return _request(next(self.chats), datetime.now(UTC) + AHEAD)

    async def rate(self, per_s: float, seconds: float) -> dict[str, Any]:
        """``schedule`` at ``per_s`` for ``seconds``; the lag of a sample of the bookings."""
        notifier, tasks = self.system.notifier, []
        began = time.monotonic()
        for n in range(int(per_s * seconds)):
            await asyncio.sleep(max(0.0, began + n / per_s - time.monotonic()))
            tasks.append(asyncio.create_task(notifier.schedule(self._next())))
        ids = await asyncio.gather(*tasks)
        took = time.monotonic() - began
        workflow_ids = [notifier.workflow_id(i) for i in ids]
        waited = await settled(self.system.client, workflow_ids, 300)
        step = max(1, len(workflow_ids) // SAMPLE)
        found = await lags(self.system.client, workflow_ids[::step])
        measured = [lag for lag in found if lag is not None]
        third = max(1, len(measured) // 3)
        return {
            "rate_asked": per_s,
            "rate_reached": round(len(ids) / took, 1),
            "bookings": len(ids),
            "lag_p50_s": rounded(statistics.median(measured)),
            "lag_p99_s": rounded(quantile(measured, 0.99)),
            "lag_max_s": rounded(max(measured)),
            "lag_first_third_median_s": rounded(statistics.median(measured[:third])),
            "lag_last_third_median_s": rounded(statistics.median(measured[-third:])),
            "settle_after_s": round(waited, 1),
        }

    async def batch(self, count: int) -> dict[str, Any]:
        """``schedule_many`` of ``count`` against ``count`` bare ``start_workflow`` calls."""
        requests = [self._next() for _ in range(count)]
        began = time.monotonic()
        ids = await self.system.notifier.schedule_many(requests)
        ours = time.monotonic() - began
        await settled(self.system.client, [self.system.notifier.workflow_id(i) for i in ids], 600)
        queue, limit = f"bare-{uuid.uuid4().hex[:8]}", asyncio.Semaphore(CONCURRENCY)
        due = time.time() + AHEAD.total_seconds()

        async def start(n: int) -> None:
            async with limit:
                await self.system.client.start_workflow(
                    BareReminder.run, BareInput(n, "x", due), id=f"{queue}-{n}", task_queue=queue
                )

        began = time.monotonic()
        await asyncio.gather(*(start(n) for n in range(count)))
        bare = time.monotonic() - began
        return {
            "bookings": count,
            "schedule_many_per_s": round(count / ours, 1),
            "bare_start_workflow_per_s": round(count / bare, 1),
            "ratio": round(bare / ours, 2),
        }

    async def callers(self, count: int, seconds: float) -> dict[str, Any]:
        """``count`` loops calling ``schedule`` back to back: the latency of each call."""
        latencies: list[float] = []
        stop = time.monotonic() + seconds

        async def loop() -> None:
            while time.monotonic() < stop:
                began = time.monotonic()
                await self.system.notifier.schedule(self._next())
                latencies.append(time.monotonic() - began)

        await asyncio.gather(*(loop() for _ in range(count)))
        return {"callers": count, **latency_metrics("schedule", latencies)}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="absorb-") as tmp:
        async with FakeTelegram() as telegram:
            for database in args.databases:
                name = "booking-notify+pg" if database == "postgres" else "booking-notify"
                async with running(name, Path(tmp), telegram.url, 30.0) as system:
                    assert isinstance(system, BookingNotify)
                    absorb = Absorb(system)
                    rates = [await absorb.rate(r, args.seconds) for r in args.rates]
                    report[database] = {
                        "rates": rates,
                        "batch": await absorb.batch(args.batch),
                        "callers": await absorb.callers(args.callers, args.callers_for),
                    }
    return report


def _floats(value: str) -> list[float]:
    return [float(v) for v in value.split(",")]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", type=lambda v: v.split(","), default=["sqlite", "postgres"])
    parser.add_argument("--rates", type=_floats, default=[25.0, 50.0, 75.0, 100.0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--callers", type=int, default=11)
    parser.add_argument("--callers-for", type=float, default=20.0, help="seconds")
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
