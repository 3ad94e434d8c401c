"""The Temporal dev server (persistent SQLite file) killed while bookings sleep, then restarted.

``booking-notify server`` keeps its state in a file; SIGKILL takes down the launcher and the
``temporal`` binary at once, as a crash would. The worker is left alone: it must find the server
again by itself, and the durable timers must fire from the file: on time for the notices due
after the restart, at once after it for the few that came due while the server was down.
"""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from booking_notifications.testing.fake_telegram import FakeTelegram
from booking_notifications.workflows.types import NoticeStatus
from tests.faults.bookings import start_notice_only
from tests.faults.figures import deliveries, notice_rows, plural, report, status_counts
from tests.faults.processes import (
    TemporalDevServer,
    all_asleep,
    forget_workflows,
    pollers,
    start_worker,
)
from tests.support.processes import Children
from tests.support.stack import api_only
from tests.support.waiting import eventually, sleep_until

pytestmark = [
    pytest.mark.faults,
    pytest.mark.slow,
    # SQLite: the database is not the point here (and the worker shares the file with us).
    pytest.mark.backends("sqlite"),
]

NOTICES = 20
LEAD = timedelta(seconds=22)
"""The first of them is due this long after scheduling: after the server is back."""
STEP = timedelta(milliseconds=250)
OVERDUE = 5
DUE_DURING = timedelta(seconds=10)
"""And these come due while the server is down."""
DOWN = 8.0
ON_TIME = 5.0
"""The lateness a notice may have and still count as on time on this noisy machine."""
PROMPT = 10.0
"""How soon after the restart an overdue notice must go out."""
CHATS = 640_000
SENT, PENDING = NoticeStatus.SENT, NoticeStatus.PENDING


@pytest.mark.timeout(240)
async def test_a_killed_and_restarted_temporal_server_still_fires_every_notice_on_time(
    db_url: str,
    task_queue: str,
    paced_telegram: FakeTelegram,
    children: Children,
    tmp_path: Path,
) -> None:
    server = TemporalDevServer(children, tmp_path / "temporal")
    await server.start()
    client = await Client.connect(server.address)
    env = WorkflowEnvironment.from_client(client)
    workflow_ids: list[str] = []
    async with api_only(env, db_url, task_queue) as s:

        async def all_pending() -> bool:
            return (await status_counts(s.sessions))[PENDING] == NOTICES + OVERDUE

        async def all_sent() -> bool:
            return (await status_counts(s.sessions))[SENT] == NOTICES + OVERDUE

        try:
            worker = await start_worker(
                children,
                client,
                db_url=db_url,
                task_queue=task_queue,
                telegram_url=paced_telegram.url,
            )
            now = datetime.now(UTC)
            booking_ids = await s.notifier.schedule_many(
                [
                    start_notice_only(LEAD + i * STEP, now=now, chat_id=CHATS + i)
                    for i in range(NOTICES)
                ]
                + [
                    start_notice_only(DUE_DURING + i * STEP, now=now, chat_id=CHATS + NOTICES + i)
                    for i in range(OVERDUE)
                ]
            )
            workflow_ids = [s.notifier.workflow_id(b) for b in booking_ids]
            await eventually(all_pending, within=30)
            await eventually(lambda: all_asleep(client, workflow_ids), within=30)

            await server.kill()
            killed = time.monotonic()
            killed_at = datetime.now(UTC)
            # Down DOWN seconds, and past the overdue notices' due times whatever the kill's timing.
            await sleep_until(
                max(killed_at + timedelta(seconds=DOWN), now + DUE_DURING + OVERDUE * STEP)
            )
            assert worker.alive, worker.tail()
            await server.start()
            restarted = time.monotonic()
            restarted_at = datetime.now(UTC)
            assert worker.alive, worker.tail()

            async def worker_polls_again() -> bool:
                identities = await pollers(
                    client, f"{task_queue}-delivery", TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY
                )
                return any(i.startswith(f"{worker.pid}@") for i in identities)

            await eventually(worker_polls_again, within=60)
            reconnected_s = time.monotonic() - restarted
            first_due = now + LEAD
            due_in_s = (first_due - datetime.now(UTC)).total_seconds()

            await eventually(all_sent, within=LEAD.total_seconds() + 60)
            rows = await notice_rows(s.sessions)
            assert worker.alive, worker.tail()
            assert await worker.stop(signal.SIGTERM) == 0, worker.tail()
        finally:
            await forget_workflows(client, workflow_ids, f"{task_queue}-")
            await server.stop()

    overdue_chats = {CHATS + NOTICES + i for i in range(OVERDUE)}
    d = deliveries([r for r in rows if r.chat_id not in overdue_chats], paced_telegram)
    late = deliveries([r for r in rows if r.chat_id in overdue_chats], paced_telegram)
    overdue_sent_s = [
        m.wall - restarted_at.timestamp()
        for chat in overdue_chats
        for m in paced_telegram.sent_to(chat)
    ]
    report(
        "temporal-server-kill",
        f"{NOTICES} notices asleep, server down {restarted - killed:.1f} s, worker polling again "
        f"{reconnected_s:.1f} s after the restart (first notice due {due_in_s:.1f} s later), "
        f"{d.delivered} delivered, {plural(d.duplicates, 'duplicate')}, max lateness "
        f"{d.max_lateness:.2f} s (median {d.median_lateness:.2f} s); {OVERDUE} due during "
        f"the outage: {late.delivered} delivered {max(overdue_sent_s, default=0):.1f} s after "
        "the restart at most",
        notices=NOTICES,
        overdue_notices=OVERDUE,
        overdue_delivered=late.delivered,
        overdue_duplicates=late.duplicates,
        overdue_sent_after_restart_s=sorted(round(x, 2) for x in overdue_sent_s),
        down_s=round(restarted - killed, 2),
        worker_reconnected_s=round(reconnected_s, 2),
        first_due_after_reconnect_s=round(due_in_s, 2),
        delivered=d.delivered,
        duplicates=d.duplicates,
        max_lateness_s=round(d.max_lateness, 3),
        median_lateness_s=round(d.median_lateness, 3),
    )
    assert due_in_s > 0, "the worker came back too late for the timing check to mean anything"
    assert killed_at < now + DUE_DURING, "the kill came too late for the overdue notices"
    assert restarted_at > now + DUE_DURING + (OVERDUE - 1) * STEP
    assert d.statuses == {SENT: NOTICES}
    assert d.delivered == NOTICES and d.duplicates == 0 and d.unrecorded == []
    assert min(d.lateness) >= 0 and d.max_lateness <= ON_TIME
    assert late.statuses == {SENT: OVERDUE}
    assert late.delivered == OVERDUE and late.duplicates == 0 and late.unrecorded == []
    assert len(overdue_sent_s) == OVERDUE and max(overdue_sent_s) <= PROMPT
