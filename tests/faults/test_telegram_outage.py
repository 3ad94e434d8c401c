"""Telegram answering 502 for 30 s while notices come due: nothing is lost, nothing duplicated.

Deliveries retry with backoff (2 s, 4 s, 8 s, ...); every notice goes out once Telegram is back,
within its tolerance, and a 5xx never counts as delivered.
"""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from booking_notifications.testing.fake_telegram import FakeTelegram
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
from tests.support.processes import Children
from tests.support.stack import api_only
from tests.support.waiting import eventually, sleep_until

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.backends("postgres")]

NOTICES = 30
OUTAGE = 30.0
LEAD = timedelta(seconds=7)
SPREAD = timedelta(seconds=19)
"""Notices come due from 1 s into the outage to 20 s into it."""
CHATS = 630_000
SENT = NoticeStatus.SENT


@pytest.mark.timeout(240)
async def test_telegram_down_with_5xx_for_30_s_loses_nothing_and_sends_everything_after(
    dev_env: WorkflowEnvironment,
    db_url: str,
    task_queue: str,
    paced_telegram: FakeTelegram,
    children: Children,
) -> None:
    client = dev_env.client
    workflow_ids: list[str] = []
    telegram = paced_telegram
    async with api_only(dev_env, db_url, task_queue) as s:

        async def all_sent() -> bool:
            return (await status_counts(s.sessions))[SENT] == NOTICES

        try:
            worker = await start_worker(
                children,
                client,
                db_url=db_url,
                task_queue=task_queue,
                telegram_url=telegram.url,
            )
            outage_starts = datetime.now(UTC) + LEAD
            step = SPREAD / (NOTICES - 1)
            booking_ids = await s.notifier.schedule_many(
                [
                    start_notice_only(
                        timedelta(seconds=1) + i * step, now=outage_starts, chat_id=CHATS + i
                    )
                    for i in range(NOTICES)
                ]
            )
            workflow_ids = [s.notifier.workflow_id(b) for b in booking_ids]

            await sleep_until(outage_starts)
            telegram.fail_for(OUTAGE)
            recovered_wall = time.time() + OUTAGE
            await eventually(all_sent, within=OUTAGE + 90)
            rows = await notice_rows(s.sessions)
            attempts = await delivery_attempts(client, workflow_ids)
            assert await worker.stop(signal.SIGTERM) == 0, worker.tail()
        finally:
            await forget_workflows(client, workflow_ids, f"{task_queue}-")

    d = deliveries(rows, telegram)
    failed = telegram.count(502)
    accepted = [m.wall for m in telegram.sent]
    drained_s = max(accepted) - recovered_wall
    report(
        "telegram-5xx",
        f"{NOTICES} notices due during a {OUTAGE:.0f} s outage, {failed} sends answered 502, "
        f"{d.delivered} delivered, {plural(d.duplicates, 'duplicate')}, all sent "
        f"{drained_s:.1f} s after recovery, max attempts {max(attempts)}, "
        f"max lateness {d.max_lateness:.1f} s",
        notices=NOTICES,
        outage_s=OUTAGE,
        answered_502=failed,
        delivered=d.delivered,
        duplicates=d.duplicates,
        drained_after_recovery_s=round(drained_s, 2),
        max_attempt=max(attempts),
        max_lateness_s=round(d.max_lateness, 2),
    )
    assert d.statuses == {SENT: NOTICES}
    assert d.delivered == NOTICES and d.duplicates == 0 and d.unrecorded == []
    assert failed >= NOTICES  # every notice met the outage at least once
    assert min(accepted) >= recovered_wall - 0.5  # nothing got through a 502
    assert all(a >= 2 for a in attempts) and len(attempts) == NOTICES
    assert all(r.attempts >= 2 and r.sent_at is not None and r.sent_at <= r.latest_at for r in rows)
