"""The worker stopped with SIGTERM in the middle of sends: they finish before it exits.

Telegram takes 3 s to accept each message here, so the SIGTERM finds sends in flight. The worker
gives them its graceful-shutdown time: each is accepted, recorded SENT, and no row is left
PROCESSING when the process has gone. A new worker then sends what had not started, once.
"""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from booking_notifications.settings import Settings
from booking_notifications.workflows.types import NoticeStatus
from tests.faults.bookings import start_notice_only
from tests.faults.figures import deliveries, notice_rows, plural, report, status_counts
from tests.faults.processes import forget_workflows, start_worker
from tests.faults.telegram import SlowTelegram
from tests.support.processes import Child, Children
from tests.support.stack import api_only
from tests.support.waiting import eventually

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.backends("postgres")]

NOTICES = 30
SEND_TIME = 3.0
TERM_AT_IN_FLIGHT: int = Settings.model_fields["delivery_concurrency"].default
"""SIGTERM once every delivery slot of the worker (DELIVERY_CONCURRENCY, default) is sending."""
LEAD = timedelta(seconds=7)
CHATS = 620_000
SENT, PROCESSING = NoticeStatus.SENT, NoticeStatus.PROCESSING


@pytest.mark.timeout(240)
async def test_sigterm_lets_in_flight_sends_finish_and_leaves_no_row_processing(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, children: Children
) -> None:
    client = dev_env.client
    workflow_ids: list[str] = []
    async with (
        SlowTelegram(accept_delay=SEND_TIME, per_chat_rate=None, global_rate=None) as telegram,
        api_only(dev_env, db_url, task_queue) as s,
    ):

        async def worker() -> Child:
            return await start_worker(
                children,
                client,
                db_url=db_url,
                task_queue=task_queue,
                telegram_url=telegram.url,
            )

        async def sends_in_flight() -> bool:
            return telegram.in_flight >= TERM_AT_IN_FLIGHT

        async def all_sent() -> bool:
            return (await status_counts(s.sessions))[SENT] == NOTICES

        try:
            first = await worker()
            now = datetime.now(UTC)
            booking_ids = await s.notifier.schedule_many(
                [start_notice_only(LEAD, now=now, chat_id=CHATS + i) for i in range(NOTICES)]
            )
            workflow_ids = [s.notifier.workflow_id(b) for b in booking_ids]

            await eventually(sends_in_flight, within=60)
            first.send(signal.SIGTERM)
            terminated = time.monotonic()
            in_flight = telegram.in_flight
            code = await first.wait(60)
            shutdown_s = time.monotonic() - terminated
            after_exit = await status_counts(s.sessions)
            accepted_before_exit = {m.chat_id for m in telegram.sent}
            unrecorded = [
                r.chat_id
                for r in await notice_rows(s.sessions)
                if r.chat_id in accepted_before_exit and r.status is not SENT
            ]

            second = await worker()
            await eventually(all_sent, within=90)
            rows = await notice_rows(s.sessions)
            assert await second.stop(signal.SIGTERM) == 0, second.tail()
        finally:
            await forget_workflows(client, workflow_ids, f"{task_queue}-")

    d = deliveries(rows, telegram)
    report(
        "worker-sigterm",
        f"{NOTICES} notices, {in_flight} sends in flight at SIGTERM, exit {code} after "
        f"{shutdown_s:.1f} s with {after_exit[SENT]} SENT, {after_exit[PROCESSING]} PROCESSING, "
        f"{after_exit[NoticeStatus.PENDING]} PENDING; after restart {d.delivered} delivered, "
        f"{plural(d.duplicates, 'duplicate')}",
        notices=NOTICES,
        in_flight_at_sigterm=in_flight,
        exit_code=code,
        shutdown_s=round(shutdown_s, 2),
        after_exit={str(k): v for k, v in after_exit.items()},
        accepted_not_sent_at_exit=len(unrecorded),
        delivered=d.delivered,
        duplicates=d.duplicates,
        max_lateness_s=round(d.max_lateness, 2),
    )
    assert code == 0, first.tail()
    assert after_exit[PROCESSING] == 0
    assert unrecorded == []
    assert after_exit[SENT] >= in_flight
    assert shutdown_s < 25 + 5  # the graceful-shutdown time, plus the process's own exit
    assert d.statuses == {SENT: NOTICES}
    assert d.delivered == NOTICES and d.duplicates == 0 and d.unrecorded == []
