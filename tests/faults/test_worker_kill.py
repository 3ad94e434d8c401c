"""The worker SIGKILLed twice in the middle of a burst, then restarted.

Every notice is delivered: a killed send is retried once its heartbeat timeout (5 s) passes. The
only duplicates are notices Telegram had accepted while their row did not yet say SENT when the
kill came (the documented crash window), and a kill can catch at most the worker's sends in flight
(``DELIVERY_CONCURRENCY``): one with 1, the issue's bound of one per kill; up to 4 with the
default. Telegram here answers 100 ms after accepting a message, as a round trip to the real one
does, so the window has its real size.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
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

pytestmark = [
    pytest.mark.faults,
    pytest.mark.slow,
    # PostgreSQL, as in production: a kill drops the worker's connections and row locks.
    pytest.mark.backends("postgres"),
]

BURST = 120
KILL_AFTER = (25, 65)
"""Messages Telegram has accepted when the first and the second kill come."""
LEAD = timedelta(seconds=12)
CHATS = 610_000
ROUND_TRIP = 0.1
SENT = NoticeStatus.SENT


@dataclass
class Kills:
    """What each kill caught."""

    at_kill: list[dict[str, int]] = field(default_factory=list)
    """At each kill: messages accepted so far, rows PROCESSING, and chats newly exposed."""
    walls: list[float] = field(default_factory=list)
    """When each kill came (Unix time)."""
    exposed: set[int] = field(default_factory=set)
    """Chats whose message Telegram had accepted while their row did not say SENT, at any kill."""


@pytest.mark.parametrize(
    "in_flight",
    [1, Settings.model_fields["delivery_concurrency"].default],
    ids="in_flight={}".format,
)
@pytest.mark.timeout(300)
async def test_a_worker_killed_twice_mid_burst_loses_nothing_and_repeats_at_most_its_sends_in_flight(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, children: Children, in_flight: int
) -> None:
    async with (
        SlowTelegram(answer_delay=ROUND_TRIP) as telegram,
        fault_scene(dev_env, db_url, task_queue, children, telegram.url) as scene,
    ):
        first = await scene.start_worker(DELIVERY_CONCURRENCY=str(in_flight))
        now = datetime.now(UTC)
        await scene.schedule(
            [start_notice_only(LEAD, now=now, chat_id=CHATS + i) for i in range(BURST)]
        )

        kills, last = await _kill_at_each_threshold(scene, first, telegram, in_flight)
        await eventually(scene.counted(SENT, BURST), within=150)
        rows, attempts = await scene.rows(), await scene.attempts()
        await stopped_cleanly(last)

    d = deliveries(rows, telegram)
    _report(in_flight, kills, d, attempts, telegram)
    assert d.statuses == {SENT: BURST}
    assert d.delivered == BURST
    assert d.unrecorded == []
    assert len(attempts) == BURST
    assert all(row.sent_at is not None and row.sent_at <= row.latest_at for row in rows)
    # Every duplicate is a crash-window one, and there is exactly one extra message for each.
    assert set(d.duplicated) <= kills.exposed
    assert all(len(walls) == 2 for walls in d.duplicated.values())
    assert d.duplicates <= len(KILL_AFTER) * in_flight


async def _kill_at_each_threshold(
    scene: FaultScene, worker: Child, telegram: SlowTelegram, in_flight: int
) -> tuple[Kills, Child]:
    """SIGKILL the worker once Telegram has accepted each of ``KILL_AFTER`` messages, noting
    what each kill caught, and start a new one after it; the kills and the last worker."""

    def accepted(count: int) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return len(telegram.sent) >= count

        return check

    async def exposed() -> set[int]:
        chats = {m.chat_id for m in telegram.sent}
        return {
            r.chat_id for r in await scene.rows() if r.chat_id in chats and r.status is not SENT
        }

    kills = Kills()
    for threshold in KILL_AFTER:
        await eventually(accepted(threshold), within=90)
        worker.send(signal.SIGKILL)
        kills.walls.append(time.time())
        await worker.wait(10)
        counts = await status_counts(scene.stack.sessions)
        window = await exposed() - kills.exposed  # new since the last kill
        kills.exposed |= window
        kills.at_kill.append(
            {
                "accepted": len(telegram.sent),
                "processing": counts[NoticeStatus.PROCESSING],
                "accepted_not_sent": len(window),
            }
        )
        worker = await scene.start_worker(DELIVERY_CONCURRENCY=str(in_flight))
    return kills, worker


def _report(
    in_flight: int, kills: Kills, d: Deliveries, attempts: list[int], telegram: SlowTelegram
) -> None:
    retried = sum(1 for a in attempts if a > 1)
    first_kill = kills.walls[0]
    report(
        f"worker-sigkill-{in_flight}-in-flight",
        f"{BURST} notices, {in_flight} send(s) in flight, {d.delivered} delivered, {plural(d.duplicates, 'duplicate')}, "
        f"{len(KILL_AFTER)} kills (accepted-but-not-SENT at each: "
        f"{', '.join(str(k['accepted_not_sent']) for k in kills.at_kill)}; "
        f"PROCESSING: {', '.join(str(k['processing']) for k in kills.at_kill)}), "
        f"{retried} sends retried, max lateness {d.max_lateness:.1f} s "
        f"(median {d.median_lateness:.1f} s)",
        notices=BURST,
        **d.figures(median=True),
        in_flight=in_flight,
        kills=len(KILL_AFTER),
        at_kill=kills.at_kill,
        retried=retried,
        max_attempt=max(attempts, default=0),
        answered_429=telegram.count(429),
        duplicated_s_after_first_kill={
            chat: [round(w - first_kill, 3) for w in walls] for chat, walls in d.duplicated.items()
        },
        kills_s=[round(w - first_kill, 3) for w in kills.walls],
    )
