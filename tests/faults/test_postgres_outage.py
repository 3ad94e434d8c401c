"""PostgreSQL unreachable for ~20 s while notices are being sent: activities retry, every row
ends SENT, nothing is lost.

The cluster is the test's own (initdb + postgres from the server binaries, run as the
``postgres`` user): an immediate shutdown drops every connection and refuses new ones until it
is started again on the same port.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from booking_notifications.core.domain import NoticeStatus
from booking_notifications.testing.fake_telegram import FakeTelegram
from tests.faults.figures import Deliveries, NoticeRow, deliveries, plural, report
from tests.faults.processes import PostgresCluster, all_asleep
from tests.faults.scene import FaultScene, start_notice_only, stopped_cleanly
from tests.support.processes import Child
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


@dataclass(frozen=True)
class Outage:
    """When (Unix time) the cluster crashed, was down, began its restart and was back."""

    crash: float
    down: float
    restart: float
    recovered: float


@dataclass(frozen=True)
class Figures:
    """What the outage did to the sends."""

    d: Deliveries
    attempts: list[int]
    sent_before: int
    in_outage: list[float]
    """Seconds after the crash at which a message was accepted while the cluster was surely down."""
    restarting: int
    """Messages accepted while the cluster was restarting."""
    due_in_outage: int
    drained_s: float

    @property
    def retried(self) -> int:
        return sum(1 for a in self.attempts if a > 1)


@pytest.mark.timeout(240)
async def test_postgres_down_for_20_s_during_sends_every_row_ends_sent(
    own_postgres: PostgresCluster, postgres_scene: FaultScene, paced_telegram: FakeTelegram
) -> None:
    cluster, scene = own_postgres, postgres_scene
    worker = await scene.start_worker()
    first_due = await _schedule_asleep(scene)
    outage = await _crash_and_restart(cluster, worker, first_due + OUTAGE_AFTER)
    await eventually(scene.counted(SENT, NOTICES), within=120)
    drained_s = max(m.wall for m in paced_telegram.sent) - outage.recovered
    rows, attempts = await scene.rows(), await scene.attempts()
    assert worker.alive, worker.tail()
    await stopped_cleanly(worker)

    f = _figures(outage, rows, attempts, paced_telegram, drained_s)
    _report(outage, f)
    assert f.d.statuses == {SENT: NOTICES}
    assert f.d.delivered == NOTICES and f.d.unrecorded == []
    assert len(f.attempts) == NOTICES and f.retried >= f.due_in_outage > 0
    # A delivery reads its row first: no database, no send.
    assert len(f.in_outage) == 0, (
        f"sent {f.in_outage} s after the crash, restart at {outage.restart - outage.crash:.1f} s"
    )
    # A send the crash caught mid-record is recorded by the retry from the message id its attempt
    # heartbeated, not sent again.
    assert f.d.duplicates == 0
    assert all(r.sent_at is not None and r.sent_at <= r.latest_at for r in rows)


async def _schedule_asleep(scene: FaultScene) -> datetime:
    """Schedule notices due one every ~0.6 s and wait until every workflow sleeps on its timer;
    when the first one is due."""
    first_due = datetime.now(UTC) + LEAD + timedelta(seconds=1)
    step = SPREAD / (NOTICES - 1)
    await scene.schedule(
        [start_notice_only(i * step, now=first_due, chat_id=CHATS + i) for i in range(NOTICES)]
    )
    await eventually(lambda: all_asleep(scene.client, scene.workflow_ids), within=30)
    return first_due


async def _crash_and_restart(cluster: PostgresCluster, worker: Child, at: datetime) -> Outage:
    """Crash the cluster at ``at``, keep it down ``OUTAGE`` seconds, and start it again."""
    await sleep_until(at)
    crash = time.time()
    await cluster.crash()
    down = time.time()
    await asyncio.sleep(OUTAGE)
    assert worker.alive, worker.tail()
    restart = time.time()
    await cluster.start()
    return Outage(crash, down, restart, time.time())


def _figures(
    outage: Outage,
    rows: list[NoticeRow],
    attempts: list[int],
    telegram: FakeTelegram,
    drained_s: float,
) -> Figures:
    accepted = [m.wall for m in telegram.sent]
    # A send already past its row when the crash came may still land in its first second. The
    # outage surely lasts until the restart begins: the test sees the cluster ready only after a
    # connect poll, and a retried delivery may reach it first, so the restart bounds the window.
    return Figures(
        d=deliveries(rows, telegram),
        attempts=attempts,
        sent_before=sum(1 for w in accepted if w < outage.crash),
        in_outage=[w - outage.crash for w in accepted if outage.crash + 1 < w < outage.restart],
        restarting=sum(1 for w in accepted if outage.restart <= w < outage.recovered),
        due_in_outage=sum(
            1 for r in rows if outage.down + 0.5 < r.due_at.timestamp() < outage.restart - 0.5
        ),
        drained_s=drained_s,
    )


def _report(outage: Outage, f: Figures) -> None:
    d = f.d
    report(
        "postgres-outage",
        f"{NOTICES} notices, PostgreSQL down {outage.recovered - outage.crash:.1f} s after "
        f"{f.sent_before} sent ({f.due_in_outage} came due in the outage, {len(f.in_outage)} "
        f"sent in it, {f.restarting} while it restarted in "
        f"{outage.recovered - outage.restart:.1f} s), {f.retried} sends retried (max attempt "
        f"{max(f.attempts)}), {d.delivered} delivered, {plural(d.duplicates, 'duplicate')}, "
        f"all SENT {f.drained_s:.1f} s after recovery, max lateness {d.max_lateness:.1f} s",
        notices=NOTICES,
        **d.figures(),
        outage_s=round(outage.recovered - outage.crash, 2),
        sent_before_outage=f.sent_before,
        due_in_outage=f.due_in_outage,
        sent_during_outage=len(f.in_outage),
        sent_while_restarting=f.restarting,
        retried=f.retried,
        max_attempt=max(f.attempts),
        drained_after_recovery_s=round(f.drained_s, 2),
    )
