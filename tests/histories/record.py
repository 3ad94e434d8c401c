"""Record workflow histories of representative bookings as replay fixtures.

    python -m tests.histories.record v2

runs each scenario on the time-skipping test server with the real worker and activities (SQLite,
console channel) and writes ``tests/histories/<version>-<scenario>.json``. Histories recorded by
an older version of the workflow stay in the folder: the replay test proves the current code can
still run the bookings that were sleeping when it was deployed.
"""

from __future__ import annotations

import asyncio
import io
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import selectinload
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment

from booking_notifications.api.bookings import save_booking, workflow_input
from booking_notifications.api.temporal import find_binary, register_search_attributes
from booking_notifications.channels.console import ConsoleChannel
from booking_notifications.db.migrate import upgrade
from booking_notifications.db.models import Booking
from booking_notifications.db.session import make_engine
from booking_notifications.workflows.booking import BookingWorkflow
from booking_notifications.workflows.types import RescheduleRequest
from tests.support.bookings import booking
from tests.support.stack import Stack, booking_stack

HERE = Path(__file__).parent
H = timedelta(hours=1)
M = timedelta(minutes=1)
Scenario = Callable[[WorkflowEnvironment, Stack], Awaitable[int]]


async def plain(env: WorkflowEnvironment, s: Stack) -> int:
    """Every notice sent."""
    now = await env.get_current_time()
    return await s.notifier.schedule(booking(30 * H, now=now, title="Plain"))


async def cancelled(env: WorkflowEnvironment, s: Stack) -> int:
    """The 24 h reminder sent, then cancelled."""
    now = await env.get_current_time()
    booking_id = await s.notifier.schedule(booking(30 * H, now=now))
    await env.sleep(7 * H)
    await s.notifier.cancel(booking_id, reason="closed")
    return booking_id


async def skipped(env: WorkflowEnvironment, s: Stack) -> int:
    """Made 3 hours ahead: the 24 h reminder is skipped at planning."""
    now = await env.get_current_time()
    return await s.notifier.schedule(booking(3 * H, now=now))


async def rescheduled(env: WorkflowEnvironment, s: Stack) -> int:
    """The 24 h reminder sent, then moved a day later: re-armed, moved notice, the rest follow."""
    now = await env.get_current_time()
    booking_id = await s.notifier.schedule(booking(30 * H, now=now))
    await env.sleep(7 * H)
    await s.notifier.reschedule(booking_id, now + 50 * H, now + 51 * H)
    return booking_id


async def cancelled_before_start(env: WorkflowEnvironment, s: Stack) -> int:
    """Committed, never started (a crash), then cancelled: the cancel starts it (signal-with-start)."""
    now = await env.get_current_time()
    booking_row = await save_booking(s.sessions, booking(30 * H, now=now), now)
    await s.notifier.cancel(booking_row.id, reason="closed")
    return booking_row.id


async def waits_for_user(env: WorkflowEnvironment, s: Stack) -> int:
    """Scheduled for a user not connected yet: the 24 h reminder waits, then goes out when
    they connect."""
    now = await env.get_current_time()
    request = booking(30 * H, now=now, chat_id=None, user_ref="recorded-waiting")
    booking_id = await s.notifier.schedule(request)
    await env.sleep(6 * H + 10 * M)
    s.notifier.people.bot_username = "recorded_bot"
    link = await s.notifier.people.link("recorded-waiting")
    await s.notifier.people.connect(link.rpartition("=")[2], chat_id=9001, telegram_user_id=9001)
    return booking_id


async def moved_in_first_task(env: WorkflowEnvironment, s: Stack) -> int:
    """Committed, then moved 20 s later by an update that starts its workflow (update-with-start):
    the move reaches the run's first task with its start and is handled before ``run``."""
    now = await env.get_current_time()
    row = await save_booking(s.sessions, booking(10 * M, 30 * M, now=now, reminders=[]), now)
    async with s.sessions() as session:
        loaded = await session.get(Booking, row.id, options=[selectinload(Booking.user)])
        assert loaded is not None
    start = WithStartWorkflowOperation(
        BookingWorkflow.run,
        workflow_input(loaded, timedelta(minutes=5)),
        id=s.notifier.workflow_id(row.id),
        task_queue=s.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    new_start = row.starts_at + timedelta(seconds=20)
    await env.client.execute_update_with_start_workflow(
        BookingWorkflow.reschedule,
        RescheduleRequest(new_start, new_start + 30 * M),
        start_workflow_operation=start,
    )
    return row.id


async def never_connected(env: WorkflowEnvironment, s: Stack) -> int:
    """Scheduled for a user who never connects: every notice is skipped at its latest moment."""
    now = await env.get_current_time()
    request = booking(30 * H, now=now, chat_id=None, user_ref="recorded-never")
    return await s.notifier.schedule(request)


SCENARIOS: dict[str, Scenario] = {
    "plain": plain,
    "cancelled": cancelled,
    "skipped": skipped,
    "rescheduled": rescheduled,
    "cancelled-before-start": cancelled_before_start,
    "waits-for-user": waits_for_user,
    "never-connected": never_connected,
    "moved-in-first-task": moved_in_first_task,
}


async def record(version: str, scenarios: dict[str, Scenario] = SCENARIOS) -> list[Path]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(find_binary("temporal-test-server"))
    )
    written = []
    try:
        await register_search_attributes(env.client)
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite+aiosqlite:///{folder}/record.db"
            engine = make_engine(url)
            await upgrade(engine)
            await engine.dispose()
            channel = ConsoleChannel(io.StringIO())
            async with booking_stack(env, url, "record", channel) as stack:
                for name, scenario in scenarios.items():
                    booking_id = await scenario(env, stack)
                    await stack.result(booking_id)
                    history = await stack.handle(booking_id).fetch_history()
                    path = HERE / f"{version}-{name}.json"
                    path.write_text(history.to_json(), encoding="utf-8")
                    written.append(path)
    finally:
        await env.shutdown()
    return written


if __name__ == "__main__":
    version = sys.argv[1] if len(sys.argv) > 1 else "current"
    chosen = {n: SCENARIOS[n] for n in sys.argv[2:]} if len(sys.argv) > 2 else SCENARIOS
    for path in asyncio.run(record(version, chosen)):
        print(path)
