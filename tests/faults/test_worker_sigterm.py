"""The worker stopped with SIGTERM in the middle of sends: they finish before it exits.

Telegram takes 3 s to accept each message here, so the SIGTERM finds sends in flight. The worker
gives them its graceful-shutdown time: each is accepted, recorded SENT, and no row is left
PROCESSING when the process has gone. A new worker then sends what had not started, once.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from booking_notifications.core.domain import NoticeStatus
from booking_notifications.settings import Settings
from tests.faults.figures import Deliveries, deliveries, plural, report, status_counts
from tests.faults.scene import FaultScene, fault_scene, start_notice_only, stopped_cleanly
from tests.faults.telegram import SlowTelegram
from tests.support.processes import Child, Children
from tests.support.waiting import eventually

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.backends("postgres")]

NOTICES = 30
SEND_TIME = 3.0
TERM_AT_IN_FLIGHT: int = Settings.model_fields["delivery_concurrency"].default
"""SIGTERM once every delivery slot of the worker (DELIVERY_CONCURRENCY, default) is sending."""
LEAD = timedelta(seconds=7)
CHATS = 620_000
SENT, PROCESSING = NoticeStatus.SENT, NoticeStatus.PROCESSING


@dataclass(frozen=True)
class AtExit:
    """The SIGTERM of the first worker and what it left behind."""

    in_flight: int
    """Sends in flight when the signal came."""
    code: int
    shutdown_s: float
    statuses: Counter[NoticeStatus]
    unrecorded: list[int]
    """Chats whose message Telegram had accepted while their row did not say SENT."""


@pytest.mark.timeout(240)
async def test_sigterm_lets_in_flight_sends_finish_and_leaves_no_row_processing(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, children: Children
) -> None:
    async with (
        SlowTelegram(accept_delay=SEND_TIME, per_chat_rate=None, global_rate=None) as telegram,
        fault_scene(dev_env, db_url, task_queue, children, telegram.url) as scene,
    ):
        first = await scene.start_worker()
        now = datetime.now(UTC)
        await scene.schedule(
            [start_notice_only(LEAD, now=now, chat_id=CHATS + i) for i in range(NOTICES)]
        )

        at_exit = await _terminate_while_sending(scene, first, telegram)
        second = await scene.start_worker()
        await eventually(scene.counted(SENT, NOTICES), within=90)
        d = deliveries(await scene.rows(), telegram)
        await stopped_cleanly(second)

    _report(at_exit, d)
    assert at_exit.code == 0, first.tail()
    assert at_exit.statuses[PROCESSING] == 0
    assert at_exit.unrecorded == []
    assert at_exit.statuses[SENT] >= at_exit.in_flight
    assert at_exit.shutdown_s < 25 + 5  # the graceful-shutdown time, plus the process's own exit
    assert d.statuses == {SENT: NOTICES}
    assert d.delivered == NOTICES and d.duplicates == 0 and d.unrecorded == []


async def _terminate_while_sending(
    scene: FaultScene, worker: Child, telegram: SlowTelegram
) -> AtExit:
    """SIGTERM ``worker`` once every delivery slot is sending; what it left when it exited."""

    async def sends_in_flight() -> bool:
        return telegram.in_flight >= TERM_AT_IN_FLIGHT

    await eventually(sends_in_flight, within=60)
    worker.send(signal.SIGTERM)
    terminated = time.monotonic()
    in_flight = telegram.in_flight
    code = await worker.wait(60)
    shutdown_s = time.monotonic() - terminated
    statuses = await status_counts(scene.stack.sessions)
    accepted = {m.chat_id for m in telegram.sent}
    unrecorded = [
        r.chat_id for r in await scene.rows() if r.chat_id in accepted and r.status is not SENT
    ]
    return AtExit(in_flight, code, shutdown_s, statuses, unrecorded)


def _report(at_exit: AtExit, d: Deliveries) -> None:
    statuses = at_exit.statuses
    report(
        "worker-sigterm",
        f"{NOTICES} notices, {at_exit.in_flight} sends in flight at SIGTERM, exit {at_exit.code} "
        f"after {at_exit.shutdown_s:.1f} s with {statuses[SENT]} SENT, {statuses[PROCESSING]} "
        f"PROCESSING, {statuses[NoticeStatus.PENDING]} PENDING; after restart {d.delivered} "
        f"delivered, {plural(d.duplicates, 'duplicate')}",
        notices=NOTICES,
        **d.figures(),
        in_flight_at_sigterm=at_exit.in_flight,
        exit_code=at_exit.code,
        shutdown_s=round(at_exit.shutdown_s, 2),
        after_exit={str(k): v for k, v in statuses.items()},
        accepted_not_sent_at_exit=len(at_exit.unrecorded),
    )
