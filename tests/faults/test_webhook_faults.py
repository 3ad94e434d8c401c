"""The webhook relay under faults, with ``booking-notify worker`` as its own process.

* The worker is SIGKILLed while the receiver holds requests: a second worker takes the relay over
  after its heartbeat timeout, and every event arrives (the ones in flight again, with the same
  ``webhook-id``): none is lost, and duplicates stay within the requests in flight at the kill.
* A 5xx storm (every request answered 503, with a backlog of ``BACKLOG`` events in as many
  streams keeping the relay busy) does not delay notices: their lateness is measured with a
  healthy receiver and with the storm, in the same run.
"""

from __future__ import annotations

import signal
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from booking_notifications.activities.events import IN_FLIGHT
from booking_notifications.core.domain import NoticeStatus
from booking_notifications.db.events import EventType, emit
from booking_notifications.observe import metrics
from booking_notifications.testing.fake_telegram import FakeTelegram
from tests.faults.figures import deliveries, report
from tests.faults.scene import FaultScene, start_notice_only, stopped_cleanly
from tests.support.processes import free_port
from tests.support.receiver import SECRET, Receiver
from tests.support.scrape import scrape
from tests.support.waiting import eventually

pytestmark = [pytest.mark.faults, pytest.mark.slow]

BOOKINGS, CANCELLED = 12, 4
LEAD = timedelta(seconds=6)
CHATS = 640_000


def webhook(receiver: Receiver) -> dict[str, str]:
    return {"EVENTS_WEBHOOK_URL": receiver.url, "EVENTS_WEBHOOK_SECRET": SECRET}


@pytest.mark.timeout(240)
async def test_killing_the_worker_mid_delivery_loses_no_event(scene: FaultScene) -> None:
    async with Receiver(delay=3.0) as receiver:
        first = await scene.start_worker(**webhook(receiver))
        now = datetime.now(UTC)
        await scene.schedule(
            [start_notice_only(LEAD, now=now, chat_id=CHATS + i) for i in range(BOOKINGS)]
        )
        for booking_id in range(1, CANCELLED + 1):
            await scene.stack.notifier.cancel(booking_id, reason="closed")

        async def held() -> bool:
            return receiver.in_flight > 0

        await eventually(held, within=60)
        in_flight = receiver.in_flight
        first.send(signal.SIGKILL)
        await first.wait(30)
        killed_at = datetime.now(UTC)
        receiver.delay = 0.0
        second = await scene.start_worker(**webhook(receiver))
        expected = BOOKINGS + CANCELLED  # a notice.sent each, a booking.cancelled per cancel
        await eventually(lambda: _delivered(scene, expected), within=150)
        events = await scene.stack.notifier.events(after=0, limit=1000)
        took = max(e.delivered_at for e in events if e.delivered_at) - killed_at
        await stopped_cleanly(second)

    arrived = Counter(a.headers["webhook-id"] for a in receiver.arrivals if a.answered < 300)
    duplicates = sum(n - 1 for n in arrived.values())
    report(
        "webhook-worker-sigkill",
        f"{len(events)} events, {in_flight} requests held at SIGKILL; all delivered "
        f"{took.total_seconds():.0f} s after the kill, {duplicates} delivered twice",
        events=len(events),
        in_flight_at_kill=in_flight,
        duplicates=duplicates,
        recovered_s=round(took.total_seconds(), 1),
    )
    assert sorted(arrived) == sorted(e.id for e in events)  # every event, none lost
    assert duplicates <= IN_FLIGHT
    assert all(a.verified for a in receiver.arrivals)
    types = Counter(e.type for e in events)
    assert types == {"notice.sent": BOOKINGS, "booking.cancelled": CANCELLED}


async def _delivered(scene: FaultScene, count: int) -> bool:
    events = await scene.stack.notifier.events(after=0, limit=1000)
    return len(events) == count and all(e.delivered_at is not None for e in events)


NOTICES = 30
"""Per phase; the start notices fall due within the same two seconds."""
BACKLOG = 300
"""Events waiting for the receiver when the storm starts, each a stream of its own."""


async def _backlog(scene: FaultScene) -> None:
    async with scene.stack.sessions() as session:
        for n in range(BACKLOG):
            emit(session, EventType.NOTICE_SENT, at=datetime.now(UTC), booking_id=900_000 + n)
        await session.commit()


@pytest.mark.timeout(300)
async def test_a_5xx_storm_at_the_receiver_does_not_delay_notices(
    scene: FaultScene, paced_telegram: FakeTelegram
) -> None:
    base = f"http://127.0.0.1:{free_port()}"
    async with Receiver() as receiver:
        worker = await scene.start_worker(
            **webhook(receiver), METRICS_ADDRESS=base.removeprefix("http://")
        )
        healthy = await _lateness(scene, paced_telegram, CHATS + 1000)
        await eventually(lambda: _counted(base, "delivered", NOTICES), within=30)
        calm = await scrape(base)
        receiver.status = 503
        await _backlog(scene)
        storm_from = len(receiver.arrivals)
        storm = await _lateness(scene, paced_telegram, CHATS + 2000)
        storm_requests = len(receiver.arrivals) - storm_from
        stormy = await scrape(base)
        await stopped_cleanly(worker)

    figures = {
        "healthy_median_s": round(statistics.median(healthy), 2),
        "healthy_max_s": round(max(healthy), 2),
        "storm_median_s": round(statistics.median(storm), 2),
        "storm_max_s": round(max(storm), 2),
        "storm_requests": storm_requests,
    }
    report(
        "webhook-5xx-storm",
        f"{NOTICES} start notices due together: late by median {figures['healthy_median_s']} s "
        f"(max {figures['healthy_max_s']} s) with a healthy receiver, "
        f"{figures['storm_median_s']} s (max {figures['storm_max_s']} s) while it answered "
        f"{storm_requests} requests with 503 ({BACKLOG} events held back)",
        notices=NOTICES,
        **figures,
    )
    assert len(healthy) == len(storm) == NOTICES  # every notice sent in both phases
    assert storm_requests > 0  # the storm was real: the relay kept trying
    attempts = metrics.WEBHOOK_ATTEMPTS + "_total"
    assert calm.value(attempts, outcome="delivered") == NOTICES
    assert calm.value(attempts, outcome="retried") == 0
    assert stormy.value(attempts, outcome="retried") > 0
    assert stormy.value(metrics.EVENTS_OLDEST_PENDING) > 1  # what the alert watches


async def _counted(base: str, outcome: str, count: int) -> bool:
    scraped = await scrape(base)
    return scraped.value(metrics.WEBHOOK_ATTEMPTS + "_total", outcome=outcome) >= count


async def _lateness(scene: FaultScene, telegram: FakeTelegram, chats: int) -> list[float]:
    """Schedule ``NOTICES`` start notices due together; seconds late of each, once all are sent."""
    before = {r.booking_id for r in await scene.rows()}
    now = datetime.now(UTC)
    await scene.schedule(
        [start_notice_only(LEAD, now=now, chat_id=chats + i) for i in range(NOTICES)]
    )
    total = len(before) + NOTICES
    await eventually(scene.counted(NoticeStatus.SENT, total), within=120)
    rows = [r for r in await scene.rows() if r.booking_id not in before]
    return deliveries(rows, telegram).lateness
