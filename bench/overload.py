"""``python -m bench.overload [--ordering on|off] [--each N] [--rate R]``: more falls due than the
cap can send within the notices' tolerances (issue 20, target 2).

3 × ``--each`` bookings whose notices fall due at one moment: start notices and "1 h before"
reminders (15 minutes of tolerance each) and end notices (an hour), as at the top of an hour.
At ``--rate`` sends a second (2.5: 3,000 take 20 minutes, more than the short notices' 15), the
delivery queue backs up. With the ordering on (``workflows.delivery.priority``, the product's
default) its backlog goes out nearest deadline first; off (``bench.arrival_order``), every
delivery has Temporal's default priority and the backlog goes out in arrival order, as before
the ordering existed. A notice
still waiting past its latest moment is skipped as too late (or, 5 minutes later, given up).

Each run has a dev server, a fresh SQLite database, the fake Bot API and the real workers of its
own, in this process; run the two orderings side by side in two processes. It prints one JSON
line: per notice kind, how many were sent and how many were too late, and the sent ones'
lateness (median and worst, seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from bench.arrival_order import ArrivalOrderWorkflow
from booking_notifications.api import BookingNotifier
from booking_notifications.api.requests import BookingRequest
from booking_notifications.api.temporal import find_binary
from booking_notifications.channels.telegram import TelegramChannel
from booking_notifications.core.domain import NoticeStatus
from booking_notifications.db.migrate import upgrade
from booking_notifications.db.models import Notification
from booking_notifications.db.session import make_engine, make_sessions
from booking_notifications.settings import Settings
from booking_notifications.testing.fake_telegram import FakeTelegram
from booking_notifications.worker import assembly
from booking_notifications.worker.assembly import running_workers
from booking_notifications.workflows.search import ALL as SEARCH_ATTRIBUTES

H = timedelta(hours=1)
SHORT = ("start", "reminder_1h")


def bookings(each: int, due: datetime, lead: timedelta) -> list[BookingRequest]:
    """``each`` bookings of each kind, every one with a single notice due at ``due``, ``lead``
    from now (the ones with an end notice start half-way)."""
    made = []
    for i in range(each):
        chat, later = 2_000_000 + 3 * i, due + 2 * H
        made += [
            BookingRequest(chat_id=chat, starts_at=due, ends_at=later, reminders=[], end_notice=False),
            BookingRequest(
                chat_id=chat + 1, starts_at=due + H, ends_at=later, reminders=[H], end_notice=False,
                start_notice=False,
            ),
            BookingRequest(
                chat_id=chat + 2, starts_at=due - lead / 2, ends_at=due, reminders=[],
                start_notice=False,
            ),
        ]  # fmt: skip
    return made


async def run(ordering: bool, each: int, rate: float, lead: timedelta) -> dict[str, Any]:
    """One run; ``lead``: from the start of scheduling to the moment every notice is due (all
    bookings must be in by then)."""
    if not ordering:  # the workers run the workflow with every delivery at the default priority
        assembly.BookingWorkflow = ArrivalOrderWorkflow  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'overload.db'}"
        engine = make_engine(url)
        await upgrade(engine)
        sessions = make_sessions(engine)
        env = await WorkflowEnvironment.start_local(
            search_attributes=SEARCH_ATTRIBUTES,
            dev_server_existing_path=str(find_binary("temporal")),
            dev_server_extra_args=["--ui-disable-news-fetch"],
        )
        settings = Settings.model_validate(
            {
                "DATABASE_URL": url,
                "TEMPORAL_TASK_QUEUE": "overload",
                "WORKFLOW_ID_PREFIX": "overload-",
                "TELEGRAM_BOT_TOKEN": None,
                "DELIVERY_RATE_PER_SECOND": rate,
            }
        )
        try:
            async with FakeTelegram(global_rate=None, per_chat_rate=None) as fake:
                channel = TelegramChannel(fake.token, fake.url)
                async with running_workers(env.client, settings, channel):
                    notifier = BookingNotifier(
                        env.client, sessions, "overload", id_prefix="overload-"
                    )
                    due = datetime.now(UTC).replace(microsecond=0) + lead
                    await notifier.schedule_many(bookings(each, due, lead))
                    rows = await _settled(sessions, due, 3 * each)
        finally:
            await env.shutdown()
            await engine.dispose()
    return {"ordering": ordering, "each": each, "rate": rate, **_figures(rows, due)}


async def _settled(sessions: Any, due: datetime, expected: int) -> list[Notification]:
    """Every notice's row once none is still to be sent (or an hour and a half after ``due``)."""
    deadline = time.monotonic() + (due - datetime.now(UTC) + 1.5 * H).total_seconds()
    while True:
        async with sessions() as session:
            rows = list(await session.scalars(select(Notification)))
        open_ = [r for r in rows if not r.status.final]
        if (len(rows) >= expected and not open_) or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(10)


def _figures(rows: list[Notification], due: datetime) -> dict[str, Any]:
    by_kind: dict[str, dict[str, Any]] = {}
    for key in sorted({r.key for r in rows}):
        mine = [r for r in rows if r.key == key]
        statuses = Counter(r.status.value for r in mine)
        late = sorted((r.sent_at - due).total_seconds() for r in mine if r.sent_at is not None)
        by_kind[key] = {
            "notices": len(mine),
            "sent": statuses[NoticeStatus.SENT.value],
            "too_late": len(mine) - statuses[NoticeStatus.SENT.value],
            "statuses": dict(statuses),
            "lateness_median_s": round(statistics.median(late), 1) if late else None,
            "lateness_max_s": round(late[-1], 1) if late else None,
        }
    short = [r for r in rows if r.key in SHORT]
    return {
        "kinds": by_kind,
        "too_late_total": sum(k["too_late"] for k in by_kind.values()),
        "too_late_short": sum(1 for r in short if r.status is not NoticeStatus.SENT),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.overload", description=__doc__)
    parser.add_argument("--ordering", choices=("on", "off"), default="on")
    parser.add_argument("--each", type=int, default=1000, help="bookings of each kind")
    parser.add_argument("--rate", type=float, default=2.5, help="DELIVERY_RATE_PER_SECOND")
    parser.add_argument("--lead", type=float, default=240, help="seconds until all are due")
    args = parser.parse_args()
    lead = timedelta(seconds=args.lead)
    result = asyncio.run(run(args.ordering == "on", args.each, args.rate, lead))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
