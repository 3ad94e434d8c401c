"""Three worker processes on one server: the send-rate limit and the delivery guarantees hold
across them, and one of them SIGKILLed mid-burst loses nothing.

The limit is one rate for the deployment (``DELIVERY_RATE_PER_SECOND``), not a per-process one:
three processes with 4 delivery slots each could send ~100 messages a second to a Telegram
100 ms away, and together they send at the configured rate. The delivery queue's server-side
limit is a token bucket holding a second's worth, which alone lets a sliding second see up to
twice the rate at the start of a burst; the shared pacer (``db.pacer``, a row in PostgreSQL)
spaces the sends within it, so at Telegram's own 30/s no sliding second sees a 31st and no send
is refused.

Which process ran each send is read from Temporal's history (the identity, ``<pid>@<host>``, of
the worker that started the activity). The killed process's sends in flight are retried by the
others once their heartbeat timeout (5 s) passes; the only duplicates are messages Telegram had
accepted while their row did not say SENT, at most ``DELIVERY_CONCURRENCY`` (4).
"""

from __future__ import annotations

import signal
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from booking_notifications.core.domain import NoticeStatus
from booking_notifications.db.pacer import MARGIN
from booking_notifications.settings import Settings
from tests.faults.figures import busiest_second, deliveries, plural, report, status_counts
from tests.faults.scene import fault_scene, start_notice_only, stopped_cleanly
from tests.faults.telegram import SlowTelegram
from tests.support.processes import Children
from tests.support.waiting import eventually

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.backends("postgres")]

WORKERS = 3
BURST = 150
TELEGRAM_CAP = 30
RATE = TELEGRAM_CAP
KILL_AFTER = 40
"""Messages Telegram has accepted when one worker is killed."""
LEAD = timedelta(seconds=15)
CHATS = 710_000
ROUND_TRIP = 0.1
IN_FLIGHT = Settings.model_fields["delivery_concurrency"].default
SENT = NoticeStatus.SENT


@pytest.mark.timeout(300)
async def test_three_workers_share_a_burst_under_one_rate_limit_and_a_kill_loses_nothing(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, children: Children
) -> None:
    settings = {"DELIVERY_RATE_PER_SECOND": str(RATE)}
    async with (
        SlowTelegram(answer_delay=ROUND_TRIP) as telegram,
        fault_scene(dev_env, db_url, task_queue, children, telegram.url) as scene,
    ):
        workers = [await scene.start_worker(**settings) for _ in range(WORKERS)]
        due = datetime.now(UTC) + LEAD
        await scene.schedule(
            [start_notice_only(LEAD, now=due - LEAD, chat_id=CHATS + i) for i in range(BURST)]
        )

        async def enough_accepted() -> bool:
            return len(telegram.sent) >= KILL_AFTER

        await eventually(enough_accepted, within=LEAD.total_seconds() + 60)
        victim = workers[0]
        victim.send(signal.SIGKILL)
        await victim.wait(10)
        accepted_at_kill = len(telegram.sent)
        caught = (await status_counts(scene.stack.sessions))[NoticeStatus.PROCESSING]
        await eventually(scene.counted(SENT, BURST), within=150)
        rows = await scene.rows()
        by_pid = Counter(delivery.pid for delivery in await scene.deliveries())
        for survivor in workers[1:]:
            await stopped_cleanly(survivor)

    d = deliveries(rows, telegram)
    attempts = [r.wall for r in telegram.requests if r.method == "sendMessage"]
    accepted = [r.wall for r in telegram.sent]
    busiest_tried, busiest_accepted = busiest_second(attempts), busiest_second(accepted)
    drain = max(accepted) - min(accepted)
    shares = {str(w.pid): by_pid.get(str(w.pid), 0) for w in workers}
    report(
        "many-workers",
        f"{BURST} notices due at once, {WORKERS} worker processes at {RATE}/s, 1 SIGKILLed after "
        f"{accepted_at_kill} accepted ({caught} rows PROCESSING at the kill): {d.delivered} delivered, {plural(d.duplicates, 'duplicate')}, "
        f"busiest sliding second {busiest_tried} sends tried / {busiest_accepted} accepted, "
        f"{telegram.count(429)} × 429, drained at {(len(accepted) - 1) / drain:.1f}/s, "
        f"deliveries per process {sorted(shares.values(), reverse=True)}",
        notices=BURST,
        workers=WORKERS,
        rate=RATE,
        **d.figures(median=True),
        busiest_second_tried=busiest_tried,
        busiest_second_accepted=busiest_accepted,
        answered_429=telegram.count(429),
        drain_rate=round((len(accepted) - 1) / drain, 2),
        deliveries_per_process=shares,
        accepted_at_kill=accepted_at_kill,
        processing_at_kill=caught,
    )
    assert d.statuses == {SENT: BURST} and d.delivered == BURST and d.unrecorded == []
    assert all(row.sent_at is not None and row.sent_at <= row.latest_at for row in rows)
    assert d.duplicates <= IN_FLIGHT  # one kill: at most the victim's sends in flight
    assert all(len(walls) == 2 for walls in d.duplicated.values())
    # One pace across the processes: never more than the rate in a sliding second.
    assert busiest_tried <= RATE and telegram.count(429) == 0
    assert drain >= (BURST - 1) * (1 + MARGIN) / RATE - 0.1  # one interval between sends
    # Spread: every process ran deliveries, the victim only before its kill.
    assert all(count > 0 for count in shares.values()), shares
    assert sum(shares.values()) == BURST
