"""Telegram answering 502 for 30 s while notices come due: nothing is lost, nothing duplicated.

Deliveries retry with backoff (2 s, 4 s, 8 s, ...); every notice goes out once Telegram is back,
within its tolerance, and a 5xx never counts as delivered.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from booking_notifications.core.domain import NoticeStatus
from booking_notifications.testing.fake_telegram import FakeTelegram
from tests.faults.figures import Deliveries, NoticeRow, deliveries, plural, report
from tests.faults.scene import FaultScene, start_notice_only, stopped_cleanly
from tests.support.waiting import eventually, sleep_until

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.backends("postgres")]

NOTICES = 30
OUTAGE = 30.0
LEAD = timedelta(seconds=7)
SPREAD = timedelta(seconds=19)
"""Notices come due from 1 s into the outage to 20 s into it."""
CHATS = 630_000
SENT = NoticeStatus.SENT


@dataclass(frozen=True)
class Figures:
    d: Deliveries
    rows: list[NoticeRow]
    attempts: list[int]
    answered_502: int
    accepted: list[float]
    """Wall times at which Telegram accepted each message."""
    recovered_wall: float

    @property
    def drained_s(self) -> float:
        return max(self.accepted) - self.recovered_wall


@pytest.mark.timeout(240)
async def test_telegram_down_with_5xx_for_30_s_loses_nothing_and_sends_everything_after(
    scene: FaultScene, paced_telegram: FakeTelegram
) -> None:
    telegram = paced_telegram
    worker = await scene.start_worker()
    outage_starts = await _schedule_notices_due_in_the_outage(scene)

    await sleep_until(outage_starts)
    telegram.fail_for(OUTAGE)
    recovered_wall = time.time() + OUTAGE
    await eventually(scene.counted(SENT, NOTICES), within=OUTAGE + 90)
    rows, attempts = await scene.rows(), await scene.attempts()
    await stopped_cleanly(worker)

    f = Figures(
        deliveries(rows, telegram),
        rows,
        attempts,
        telegram.count(502),
        [m.wall for m in telegram.sent],
        recovered_wall,
    )
    _report(f)
    assert f.d.statuses == {SENT: NOTICES}
    assert f.d.delivered == NOTICES and f.d.duplicates == 0 and f.d.unrecorded == []
    assert f.answered_502 >= NOTICES  # every notice met the outage at least once
    assert min(f.accepted) >= f.recovered_wall - 0.5  # nothing got through a 502
    assert all(a >= 2 for a in f.attempts) and len(f.attempts) == NOTICES
    assert all(
        r.attempts >= 2 and r.sent_at is not None and r.sent_at <= r.latest_at for r in f.rows
    )


async def _schedule_notices_due_in_the_outage(scene: FaultScene) -> datetime:
    """Schedule the notices, due from 1 s after the outage begins; the moment it begins."""
    outage_starts = datetime.now(UTC) + LEAD
    step = SPREAD / (NOTICES - 1)
    await scene.schedule(
        [
            start_notice_only(timedelta(seconds=1) + i * step, now=outage_starts, chat_id=CHATS + i)
            for i in range(NOTICES)
        ]
    )
    return outage_starts


def _report(f: Figures) -> None:
    d = f.d
    report(
        "telegram-5xx",
        f"{NOTICES} notices due during a {OUTAGE:.0f} s outage, {f.answered_502} sends answered 502, "
        f"{d.delivered} delivered, {plural(d.duplicates, 'duplicate')}, all sent "
        f"{f.drained_s:.1f} s after recovery, max attempts {max(f.attempts)}, "
        f"max lateness {d.max_lateness:.1f} s",
        notices=NOTICES,
        **d.figures(),
        outage_s=OUTAGE,
        answered_502=f.answered_502,
        drained_after_recovery_s=round(f.drained_s, 2),
        max_attempt=max(f.attempts),
    )
