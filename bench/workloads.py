"""The workloads: steady, burst (capped and uncapped), cancel, and scale.

Every notice is scheduled ahead and comes due at a known moment; each booking has exactly one
notice (its start notice: ``reminders=[]``, ``end_notice=False``) and a chat id of its own, so
every accepted request at the fake server names its notice. The schedule phase is timed apart
and must end before the first notice is due (``schedule_overran`` says when it did not).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from bench.absorb import settled as first_tasks_run
from bench.measure import (
    MB,
    Deliveries,
    MemorySampler,
    latency_metrics,
    lateness_metrics,
    quantile,
    rounded,
)
from bench.systems import BookingNotify, Notice, System
from booking_notifications.api.requests import DEFAULT_REMINDERS
from booking_notifications.testing.fake_telegram import FakeTelegram

DRAIN_GRACE_S = 30.0
SETTLE_S = 1.0
"""After the last expected delivery, wait this long so a late duplicate is still seen."""

_chat_ids = itertools.count(1_000_001)


@dataclass(frozen=True)
class Sizes:
    """How big each workload is; ``QUICK`` fits in 5 minutes on 2 cores."""

    steady_rate: float
    steady_seconds: float
    burst: int
    uncapped: int
    cancels: int
    scale: tuple[int, ...]
    rounds: int = 1
    """Uncapped bursts per system whose ratio is a target (booking-notify, bare-temporal),
    alternating between them: one run on a shared machine swings by tens of percent."""


QUICK = Sizes(
    steady_rate=10, steady_seconds=10, burst=150, uncapped=300, cancels=5, scale=(500, 1500)
)
FULL = Sizes(
    steady_rate=10,
    steady_seconds=120,
    burst=1000,
    uncapped=2000,
    cancels=20,
    scale=(1000, 10_000),
    rounds=3,
)


def lead_time(system: System, count: int) -> float:
    """Seconds between starting to schedule and the first due moment."""
    return 2.0 + count / system.schedule_rate_guess


def fresh_chats(count: int) -> list[int]:
    return [next(_chat_ids) for _ in range(count)]


async def _wait_delivered(telegram: FakeTelegram, chats: set[int], deadline: float) -> None:
    """Until every chat got its message, or the deadline; then a short settle for duplicates."""
    while time.time() < deadline:
        if len(Deliveries.of(telegram, chats).first) == len(chats):
            await asyncio.sleep(SETTLE_S)
            return
        await asyncio.sleep(0.25)


async def deliver_run(
    system: System, telegram: FakeTelegram, notices: Sequence[Notice], drain_s: float
) -> dict[str, Any]:
    """Schedule ``notices``, wait for them at the fake server, and measure everything."""
    telegram.reset()
    chats = {n.chat_id for n in notices}
    harness_cpu = time.process_time()
    async with MemorySampler(system.pids()) as memory:
        started = time.time()
        latencies = await system.schedule(notices)
        scheduled = time.time()
        grace = drain_s + DRAIN_GRACE_S + system.poll_interval
        await _wait_delivered(telegram, chats, max(n.due for n in notices) + grace)
    result = lateness_metrics(notices, Deliveries.of(telegram, chats))
    result |= latency_metrics("schedule", latencies)
    result["schedule_per_s"] = rounded(len(notices) / (scheduled - started), 1)
    result["schedule_overran"] = scheduled > min(n.due for n in notices)
    result |= memory.peaks_mb() | memory.cpu_used()
    result["cpu_harness_s"] = round(time.process_time() - harness_cpu, 1)
    return result


async def steady(system: System, telegram: FakeTelegram, sizes: Sizes) -> dict[str, Any]:
    """Notices due uniformly: ``steady_rate`` per second for ``steady_seconds``."""
    count = round(sizes.steady_rate * sizes.steady_seconds)
    first = time.time() + lead_time(system, count)
    notices = [
        Notice(chat, first + i / sizes.steady_rate) for i, chat in enumerate(fresh_chats(count))
    ]
    return await deliver_run(system, telegram, notices, drain_s=0.0)


async def burst(
    system: System, telegram: FakeTelegram, count: int, cap: float | None
) -> dict[str, Any]:
    """``count`` notices due at the same moment (a whole second)."""
    due = float(math.ceil(time.time() + lead_time(system, count)))
    notices = [Notice(chat, due) for chat in fresh_chats(count)]
    drain = count / cap if cap else count / 10  # uncapped: wait for anything above 10/s
    result = await deliver_run(system, telegram, notices, drain_s=drain)
    if cap and result["per_s"]:
        result["share_of_cap"] = round(result["per_s"] / cap, 3)
    return result


async def within_a_second(
    system: System, telegram: FakeTelegram, count: int, cap: float
) -> dict[str, Any]:
    """``count`` notices due evenly within one second (the hour's reminders of a busy hour)."""
    first = float(math.ceil(time.time() + lead_time(system, count)))
    notices = [Notice(chat, first + i / count) for i, chat in enumerate(fresh_chats(count))]
    result = await deliver_run(system, telegram, notices, drain_s=count / cap)
    if result["per_s"]:
        result["share_of_cap"] = round(result["per_s"] / cap, 3)
    return result


def median_run(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median throughput (the lower one of an even count), with every run's
    ``per_s`` and p99 beside it: the table then shows one real run, not a blend of several."""
    ranked = sorted(runs, key=lambda r: r["per_s"] or 0.0)
    chosen = dict(ranked[(len(ranked) - 1) // 2])
    if len(runs) > 1:
        chosen["rounds_per_s"] = [r["per_s"] for r in runs]
        chosen["rounds_p99_s"] = [r["p99_s"] for r in runs]
    return chosen


async def cancel(system: System, telegram: FakeTelegram, sizes: Sizes) -> dict[str, Any]:
    """Bookings an hour ahead, cancelled one by one: time from ``cancel`` to the message."""
    telegram.reset()
    notices = [Notice(chat, time.time() + 3600) for chat in fresh_chats(sizes.cancels)]
    try:
        await system.schedule(notices)
    except NotImplementedError:
        return {}
    await asyncio.sleep(2.0)  # let the workflows (or jobs) settle into their wait
    called: dict[int, float] = {}
    for notice in notices:
        called[notice.chat_id] = time.time()
        try:
            await system.cancel(notice)
        except NotImplementedError:
            return {}
        await asyncio.sleep(0.3)
    chats = set(called)
    await _wait_delivered(telegram, chats, time.time() + DRAIN_GRACE_S + 2 * system.poll_interval)
    got = Deliveries.of(telegram, chats)
    waits = [got.first[c] - called[c] for c in chats if c in got.first]
    return {
        "cancel_to_notice_p50_s": rounded(quantile(waits, 0.5)),
        "cancel_to_notice_p99_s": rounded(quantile(waits, 0.99)),
        "cancel_lost": len(chats) - len(waits),
    }


async def _notice_rows(system: BookingNotify) -> int:
    async with system.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM bn_notifications"))).scalar_one())


async def _running(system: BookingNotify) -> int:
    found = await system.client.count_workflows("ExecutionStatus = 'Running'")
    return found.count


async def scale(
    system: BookingNotify, steps: Sequence[int], settle_timeout: float
) -> list[dict[str, Any]]:
    """Grow the number of sleeping bookings step by step; memory and storage at each step.

    Bookings start two days ahead with the default notices (24 h and 1 h reminders, start, end):
    ``schedule`` writes four rows each, and each workflow's first task starts its first timer.
    Memory is sampled once the worker has run every workflow's first task.
    """
    results: list[dict[str, Any]] = []
    total = 0
    base_storage = system.storage_bytes()
    starts = time.time() + 2 * 86400
    for target in steps:
        notices = [Notice(chat, starts + i) for i, chat in enumerate(fresh_chats(target - total))]
        began = time.time()
        latencies = await system.schedule(notices, reminders=DEFAULT_REMINDERS, end_notice=True)
        took = time.time() - began
        total = target
        # NextNotificationAt is set by the start itself: the first task is read from histories.
        last = [system.notifier.workflow_id(system.booking_ids[n.chat_id]) for n in notices]
        settled = await first_tasks_run(system.client, last, settle_timeout)
        samples: dict[str, list[int]] = {}
        for _ in range(6):
            memory = MemorySampler(system.pids())
            memory.sample()
            for role, value in memory.last.items():
                samples.setdefault(role, []).append(value)
            await asyncio.sleep(0.5)
        step: dict[str, Any] = {
            "bookings": total,
            "scheduled": len(notices),
            "schedule_s": round(took, 1),
            "schedule_per_s": round(len(notices) / took, 1),
            "absorb_lag_s": round(settled, 1),
            "running": await _running(system),
            "rows": await _notice_rows(system),
            "storage_per_booking_kb": round(
                (system.storage_bytes() - base_storage) / total / 1024, 2
            ),
        }
        step |= latency_metrics("schedule", latencies)
        for role, values in samples.items():
            step[f"rss_{role}_mb"] = round(statistics.median(values) / MB, 1)
        results.append(step)
    return results
