"""The worker SIGKILLed twice in the middle of a burst, then restarted.

Every notice is delivered: a killed send is retried once its heartbeat timeout (5 s) passes. The
only duplicates are notices Telegram had accepted while their row did not yet say SENT when the
kill came (the documented crash window), and a kill can catch at most the worker's sends in flight
(``DELIVERY_CONCURRENCY``): one with 1, the issue's bound of one per kill; up to 4 with the
default. Telegram here answers 100 ms after accepting a message, as a round trip to the real one
does, so the window has its real size.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from booking_notifications.settings import Settings
from booking_notifications.workflows.types import NoticeStatus
from tests.faults.bookings import start_notice_only
from tests.faults.figures import (
    deliveries,
    delivery_attempts,
    notice_rows,
    plural,
    report,
    status_counts,
)
from tests.faults.processes import forget_workflows, start_worker
from tests.faults.telegram import SlowTelegram
from tests.support.processes import Child, Children
from tests.support.stack import api_only
from tests.support.waiting import eventually

pytestmark = [
    pytest.mark.faults,
    pytest.mark.slow,
    # PostgreSQL, as in production: a kill drops the worker's connections and row locks.
    pytest.mark.backends("postgres"),
]

BURST = 120
KILL_AFTER = (25, 65)
"""Messages Telegram has accepted when the first and the second kill come."""
LEAD = timedelta(seconds=12)
CHATS = 610_000
ROUND_TRIP = 0.1


@pytest.mark.parametrize(
    "in_flight",
    [1, Settings.model_fields["delivery_concurrency"].default],
    ids="in_flight={}".format,
)
@pytest.mark.timeout(300)
async def test_a_worker_killed_twice_mid_burst_loses_nothing_and_repeats_at_most_its_sends_in_flight(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, children: Children, in_flight: int
) -> None:
    client = dev_env.client
    workflow_ids: list[str] = []
    async with (
        SlowTelegram(answer_delay=ROUND_TRIP) as telegram,
        api_only(dev_env, db_url, task_queue) as s,
    ):

        async def worker() -> Child:
            return await start_worker(
                children,
                client,
                db_url=db_url,
                task_queue=task_queue,
                telegram_url=telegram.url,
                DELIVERY_CONCURRENCY=str(in_flight),
            )

        def accepted(count: int) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                return len(telegram.sent) >= count

            return check

        async def all_sent() -> bool:
            return (await status_counts(s.sessions))[NoticeStatus.SENT] == BURST

        async def exposed() -> set[int]:
            """Chats whose message Telegram accepted while their row does not say SENT."""
            chats = {m.chat_id for m in telegram.sent}
            rows = await notice_rows(s.sessions)
            return {r.chat_id for r in rows if r.chat_id in chats and r.status is not SENT}

        try:
            current = await worker()
            now = datetime.now(UTC)
            requests = [start_notice_only(LEAD, now=now, chat_id=CHATS + i) for i in range(BURST)]
            booking_ids = await s.notifier.schedule_many(requests)
            workflow_ids = [s.notifier.workflow_id(b) for b in booking_ids]

            at_kill: list[dict[str, int]] = []
            kill_walls: list[float] = []
            exposed_at_kills: set[int] = set()
            for threshold in KILL_AFTER:
                await eventually(accepted(threshold), within=90)
                current.send(signal.SIGKILL)
                kill_walls.append(time.time())
                await current.wait(10)
                counts = await status_counts(s.sessions)
                window = await exposed() - exposed_at_kills  # new since the last kill
                exposed_at_kills |= window
                at_kill.append(
                    {
                        "accepted": len(telegram.sent),
                        "processing": counts[NoticeStatus.PROCESSING],
                        "accepted_not_sent": len(window),
                    }
                )
                current = await worker()

            await eventually(all_sent, within=150)
            rows = await notice_rows(s.sessions)
            attempts = await delivery_attempts(client, workflow_ids)
            assert await current.stop(signal.SIGTERM) == 0, current.tail()
        finally:
            await forget_workflows(client, workflow_ids, f"{task_queue}-")

    kills = len(KILL_AFTER)
    d = deliveries(rows, telegram)
    retried = sum(1 for a in attempts if a > 1)
    report(
        f"worker-sigkill-{in_flight}-in-flight",
        f"{BURST} notices, {in_flight} send(s) in flight, {d.delivered} delivered, {plural(d.duplicates, 'duplicate')}, "
        f"{kills} kills (accepted-but-not-SENT at each: "
        f"{', '.join(str(k['accepted_not_sent']) for k in at_kill)}; "
        f"PROCESSING: {', '.join(str(k['processing']) for k in at_kill)}), "
        f"{retried} sends retried, max lateness {d.max_lateness:.1f} s "
        f"(median {d.median_lateness:.1f} s)",
        notices=BURST,
        in_flight=in_flight,
        delivered=d.delivered,
        duplicates=d.duplicates,
        kills=kills,
        at_kill=at_kill,
        retried=retried,
        max_attempt=max(attempts, default=0),
        max_lateness_s=round(d.max_lateness, 2),
        median_lateness_s=round(d.median_lateness, 2),
        answered_429=telegram.count(429),
        duplicated_s_after_first_kill={
            chat: [round(w - kill_walls[0], 3) for w in walls]
            for chat, walls in d.duplicated.items()
        },
        kills_s=[round(w - kill_walls[0], 3) for w in kill_walls],
    )
    assert d.statuses == {SENT: BURST}
    assert d.delivered == BURST
    assert d.unrecorded == []
    assert len(attempts) == BURST
    assert all(row.sent_at is not None and row.sent_at <= row.latest_at for row in rows)
    # Every duplicate is a crash-window one, and there is exactly one extra message for each.
    assert set(d.duplicated) <= exposed_at_kills
    assert all(len(walls) == 2 for walls in d.duplicated.values())
    assert d.duplicates <= kills * in_flight


SENT = NoticeStatus.SENT
