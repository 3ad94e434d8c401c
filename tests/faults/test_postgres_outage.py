"""PostgreSQL unreachable for ~20 s while notices are being sent: activities retry, every row
ends SENT, nothing is lost.

The cluster is the test's own (initdb + postgres from the server binaries, run as the
``postgres`` user): an immediate shutdown drops every connection and refuses new ones until it
is started again on the same port.
"""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from booking_notifications.db.migrate import upgrade
from booking_notifications.db.session import make_engine
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
from tests.faults.processes import PostgresCluster, all_asleep, forget_workflows, start_worker
from tests.support.postgres import unavailable
from tests.support.processes import Children
from tests.support.stack import api_only
from tests.support.waiting import eventually, sleep_until

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.postgres]

NOTICES = 40
LEAD = timedelta(seconds=7)
SPREAD = timedelta(seconds=24)
"""Notices come due one every ~0.6 s, from LEAD + 1 s on."""
OUTAGE_AFTER = timedelta(seconds=6)
"""The cluster goes down this long after the first notice is due, in the middle of the sends."""
OUTAGE = 20.0
CHATS = 650_000
SENT = NoticeStatus.SENT


@pytest.mark.timeout(240)
async def test_postgres_down_for_20_s_during_sends_every_row_ends_sent(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    paced_telegram: FakeTelegram,
    children: Children,
) -> None:
    missing = PostgresCluster.missing()
    if missing:
        unavailable(missing, "CI=true: this fault test must run")
    client = dev_env.client
    cluster = PostgresCluster(children)
    workflow_ids: list[str] = []
    try:
        cluster.init()
        await cluster.start()
        db_url = await cluster.create_database("booking_faults")
        engine = make_engine(db_url)
        await upgrade(engine)
        await engine.dispose()

        async with api_only(dev_env, db_url, task_queue) as s:

            async def all_sent() -> bool:
                return (await status_counts(s.sessions))[SENT] == NOTICES

            try:
                worker = await start_worker(
                    children,
                    client,
                    db_url=db_url,
                    task_queue=task_queue,
                    telegram_url=paced_telegram.url,
                )
                first_due = datetime.now(UTC) + LEAD + timedelta(seconds=1)
                step = SPREAD / (NOTICES - 1)
                booking_ids = await s.notifier.schedule_many(
                    [
                        start_notice_only(i * step, now=first_due, chat_id=CHATS + i)
                        for i in range(NOTICES)
                    ]
                )
                workflow_ids = [s.notifier.workflow_id(b) for b in booking_ids]
                await eventually(lambda: all_asleep(client, workflow_ids), within=30)

                down_at = first_due + OUTAGE_AFTER
                await sleep_until(down_at)
                crash_wall = time.time()
                await cluster.crash()
                down_wall = time.time()
                await asyncio.sleep(OUTAGE)
                assert worker.alive, worker.tail()
                restart_wall = time.time()
                await cluster.start()
                recovered_wall = time.time()

                await eventually(all_sent, within=120)
                drained_s = max(m.wall for m in paced_telegram.sent) - recovered_wall
                rows = await notice_rows(s.sessions)
                attempts = await delivery_attempts(client, workflow_ids)
                assert worker.alive, worker.tail()
                assert await worker.stop(signal.SIGTERM) == 0, worker.tail()
            finally:
                await forget_workflows(client, workflow_ids, f"{task_queue}-")
    finally:
        cluster.close()

    d = deliveries(rows, paced_telegram)
    accepted = [m.wall for m in paced_telegram.sent]
    sent_before = sum(1 for w in accepted if w < crash_wall)
    # A send already past its row when the crash came may still land in its first second. The
    # outage surely lasts until the restart begins: the test sees the cluster ready only after a
    # connect poll, and a retried delivery may reach it first, so the restart bounds the window.
    in_outage = [w - crash_wall for w in accepted if crash_wall + 1 < w < restart_wall]
    sent_during = len(in_outage)
    restarting = sum(1 for w in accepted if restart_wall <= w < recovered_wall)
    due_in_outage = sum(
        1 for r in rows if down_wall + 0.5 < r.due_at.timestamp() < restart_wall - 0.5
    )
    retried = sum(1 for a in attempts if a > 1)
    report(
        "postgres-outage",
        f"{NOTICES} notices, PostgreSQL down {recovered_wall - crash_wall:.1f} s after {sent_before} "
        f"sent ({due_in_outage} came due in the outage, {sent_during} sent in it, {restarting} "
        f"while it restarted in {recovered_wall - restart_wall:.1f} s), "
        f"{retried} sends retried (max attempt {max(attempts)}), {d.delivered} delivered, "
        f"{plural(d.duplicates, 'duplicate')}, all SENT {drained_s:.1f} s after recovery, "
        f"max lateness {d.max_lateness:.1f} s",
        notices=NOTICES,
        outage_s=round(recovered_wall - crash_wall, 2),
        sent_before_outage=sent_before,
        due_in_outage=due_in_outage,
        sent_during_outage=sent_during,
        sent_while_restarting=restarting,
        retried=retried,
        max_attempt=max(attempts),
        delivered=d.delivered,
        duplicates=d.duplicates,
        drained_after_recovery_s=round(drained_s, 2),
        max_lateness_s=round(d.max_lateness, 2),
    )
    assert d.statuses == {SENT: NOTICES}
    assert d.delivered == NOTICES and d.unrecorded == []
    assert len(attempts) == NOTICES and retried >= due_in_outage > 0
    # A delivery reads its row first: no database, no send.
    assert sent_during == 0, (
        f"sent {in_outage} s after the crash, restart at {restart_wall - crash_wall:.1f} s"
    )
    assert d.duplicates <= 1  # at most the one send the crash may have caught mid-record
    assert all(r.sent_at is not None and r.sent_at <= r.latest_at for r in rows)
