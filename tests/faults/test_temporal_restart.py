"""The Temporal dev server (persistent SQLite file) killed while bookings sleep, then restarted.

``booking-notify server`` keeps its state in a file; SIGKILL takes down the launcher and the
``temporal`` binary at once, as a crash would. The worker is left alone: it must find the server
again by itself, and the durable timers must fire from the file: on time for the notices due
after the restart, at once after it for the few that came due while the server was down.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.api.enums.v1 import TaskQueueType

from booking_notifications.core.domain import NoticeStatus
from booking_notifications.testing.fake_telegram import FakeTelegram
from tests.faults.figures import Deliveries, deliveries, plural, report
from tests.faults.processes import TemporalDevServer, all_asleep, pollers
from tests.faults.scene import FaultScene, start_notice_only, stopped_cleanly
from tests.support.processes import Child
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
OVERDUE_CHATS = {CHATS + NOTICES + i for i in range(OVERDUE)}
SENT, PENDING = NoticeStatus.SENT, NoticeStatus.PENDING


@dataclass(frozen=True)
class Restart:
    """When the server went down and came back, and when the worker found it again."""

    killed_at: datetime
    restarted_at: datetime
    down_s: float
    reconnected_s: float
    """From the restart until the worker polled again."""
    due_in_s: float
    """From then until the first notice was due."""


@pytest.mark.timeout(240)
async def test_a_killed_and_restarted_temporal_server_still_fires_every_notice_on_time(
    own_temporal: TemporalDevServer, own_scene: FaultScene, paced_telegram: FakeTelegram
) -> None:
    server, scene = own_temporal, own_scene
    worker = await scene.start_worker()
    now = await _schedule_asleep(scene)
    restart = await _kill_and_restart(server, scene, worker, now)
    await eventually(scene.counted(SENT, NOTICES + OVERDUE), within=LEAD.total_seconds() + 60)
    rows = await scene.rows()
    assert worker.alive, worker.tail()
    await stopped_cleanly(worker)

    d = deliveries([r for r in rows if r.chat_id not in OVERDUE_CHATS], paced_telegram)
    late = deliveries([r for r in rows if r.chat_id in OVERDUE_CHATS], paced_telegram)
    overdue_sent_s = [
        m.wall - restart.restarted_at.timestamp()
        for chat in OVERDUE_CHATS
        for m in paced_telegram.sent_to(chat)
    ]
    _report(restart, d, late, overdue_sent_s)
    assert restart.due_in_s > 0, (
        "the worker came back too late for the timing check to mean anything"
    )
    assert restart.killed_at < now + DUE_DURING, "the kill came too late for the overdue notices"
    assert restart.restarted_at > now + DUE_DURING + (OVERDUE - 1) * STEP
    assert d.statuses == {SENT: NOTICES}
    assert d.delivered == NOTICES and d.duplicates == 0 and d.unrecorded == []
    assert min(d.lateness) >= 0 and d.max_lateness <= ON_TIME
    assert late.statuses == {SENT: OVERDUE}
    assert late.delivered == OVERDUE and late.duplicates == 0 and late.unrecorded == []
    assert len(overdue_sent_s) == OVERDUE and max(overdue_sent_s) <= PROMPT


async def _schedule_asleep(scene: FaultScene) -> datetime:
    """Schedule the notices due after the restart and those due during the outage, and wait
    until every workflow sleeps on its timer; the moment they were planned from."""
    now = datetime.now(UTC)
    await scene.schedule(
        [start_notice_only(LEAD + i * STEP, now=now, chat_id=CHATS + i) for i in range(NOTICES)]
        + [
            start_notice_only(DUE_DURING + i * STEP, now=now, chat_id=CHATS + NOTICES + i)
            for i in range(OVERDUE)
        ]
    )
    await eventually(scene.counted(PENDING, NOTICES + OVERDUE), within=30)
    await eventually(lambda: all_asleep(scene.client, scene.workflow_ids), within=30)
    return now


async def _kill_and_restart(
    server: TemporalDevServer, scene: FaultScene, worker: Child, now: datetime
) -> Restart:
    """Kill the server, keep it down ``DOWN`` seconds and past the overdue notices' due times
    (whatever the kill's timing), restart it and wait for the worker to poll again."""
    await server.kill()
    killed = time.monotonic()
    killed_at = datetime.now(UTC)
    await sleep_until(max(killed_at + timedelta(seconds=DOWN), now + DUE_DURING + OVERDUE * STEP))
    assert worker.alive, worker.tail()
    await server.start()
    restarted = time.monotonic()
    restarted_at = datetime.now(UTC)
    assert worker.alive, worker.tail()

    async def worker_polls_again() -> bool:
        identities = await pollers(
            scene.client,
            f"{scene.stack.task_queue}-delivery",
            TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        )
        return any(i.startswith(f"{worker.pid}@") for i in identities)

    await eventually(worker_polls_again, within=60)
    reconnected_s = time.monotonic() - restarted
    due_in_s = (now + LEAD - datetime.now(UTC)).total_seconds()
    return Restart(killed_at, restarted_at, restarted - killed, reconnected_s, due_in_s)


def _report(restart: Restart, d: Deliveries, late: Deliveries, overdue_sent_s: list[float]) -> None:
    report(
        "temporal-server-kill",
        f"{NOTICES} notices asleep, server down {restart.down_s:.1f} s, worker polling again "
        f"{restart.reconnected_s:.1f} s after the restart (first notice due "
        f"{restart.due_in_s:.1f} s later), {d.delivered} delivered, "
        f"{plural(d.duplicates, 'duplicate')}, max lateness {d.max_lateness:.2f} s (median "
        f"{d.median_lateness:.2f} s); {OVERDUE} due during the outage: {late.delivered} "
        f"delivered {max(overdue_sent_s, default=0):.1f} s after the restart at most",
        notices=NOTICES,
        **d.figures(3, median=True),
        overdue_notices=OVERDUE,
        overdue_delivered=late.delivered,
        overdue_duplicates=late.duplicates,
        overdue_sent_after_restart_s=sorted(round(x, 2) for x in overdue_sent_s),
        down_s=round(restart.down_s, 2),
        worker_reconnected_s=round(restart.reconnected_s, 2),
        first_due_after_reconnect_s=round(restart.due_in_s, 2),
    )
