"""A move, a cancel or a connection that lands while a notice is being fired or delivered.

On the time-skipping server with stub activities that keep a booking's row the way SQL does: the
mirror writes the notice states (a SENT or SKIPPED row is never undone) and, after a move, the
booking's times; the delivery reads the row and the booking, skips a notice whose booking moved
or was cancelled since it was fired (``activities.reasons``), else sends it. A test can hold a
delivery before it reads the row or after it read it and before it records, and release it once
the move is in. Whatever the interleaving, the user gets the move notice at once and the start
notice at the new time, or the old start (sent before the move) and the new one.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment

from booking_notifications.core.domain import NoticeKind, NoticeStatus
from booking_notifications.workflows import types as wf
from booking_notifications.workflows.activities import DELIVER_NOTICE, MIRROR_NOTICES
from booking_notifications.workflows.booking import BookingWorkflow
from booking_notifications.workflows.plan import PLAN_VERSION
from tests.support.stubs import stub_workers
from tests.support.time_skipping import terminate_when_settled
from tests.support.waiting import eventually

SENT, SKIPPED, PENDING = NoticeStatus.SENT, NoticeStatus.SKIPPED, NoticeStatus.PENDING
CANCELLED = NoticeStatus.CANCELLED
LENGTH = timedelta(minutes=30)
MOVED_BY = timedelta(seconds=20)
START_IN = timedelta(minutes=10)
FINAL = {SENT, SKIPPED, CANCELLED, NoticeStatus.FAILED}


@dataclass
class Gate:
    """Holds one notice's first delivery at a point until the test releases it."""

    key: str
    before_read: bool
    """True: held before it reads the row; False: after it read it, before it records."""
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    used: bool = False

    async def hold(self, key: str, before_read: bool) -> None:
        if key != self.key or before_read is not self.before_read or self.used:
            return
        self.used = True
        self.reached.set()
        await self.release.wait()


@dataclass
class Sql:
    """The booking's row and its notice rows, as the real activities keep them."""

    starts_at: datetime
    ends_at: datetime
    cancelled: bool = False
    connected: bool = True
    rows: dict[str, tuple[NoticeStatus, str | None]] = field(default_factory=dict)
    messages: list[tuple[str, datetime, datetime]] = field(default_factory=list)
    """What the user got: the notice's key and the booking times its text names."""
    gate: Gate | None = None

    @activity.defn(name=MIRROR_NOTICES)
    async def mirror_notices(self, request: wf.MirrorRequest) -> None:
        if request.starts_at is not None and request.ends_at is not None:
            self.starts_at, self.ends_at = request.starts_at, request.ends_at
        for notice in request.notices:
            if self.rows.get(notice.key, (PENDING, None))[0] not in (SENT, NoticeStatus.FAILED):
                self.rows[notice.key] = (notice.status, notice.reason)

    @activity.defn(name=DELIVER_NOTICE)
    async def deliver_notice(self, request: wf.DeliveryRequest) -> wf.DeliveryOutcome:
        if self.gate is not None:
            await self.gate.hold(request.key, before_read=True)
        status, reason = self.rows.get(request.key, (PENDING, None))
        if status in FINAL:
            return wf.DeliveryOutcome(status, reason)
        starts_at, ends_at, cancelled = self.starts_at, self.ends_at, self.cancelled
        if self.gate is not None:
            await self.gate.hold(request.key, before_read=False)
        if request.kind is not NoticeKind.CANCEL and cancelled:
            verdict: tuple[NoticeStatus, str | None] = (SKIPPED, "booking cancelled")
        elif (starts_at, ends_at) != (request.starts_at, request.ends_at):
            verdict = (SKIPPED, "booking moved")
        elif not self.connected:
            self.rows[request.key] = (PENDING, "waiting")
            return wf.DeliveryOutcome(PENDING, "waiting")
        else:
            verdict = (SENT, None)
            self.messages.append((request.key, starts_at, ends_at))
        self.rows[request.key] = verdict
        return wf.DeliveryOutcome(*verdict)


async def moves_accepted(handle: WorkflowHandle[Any, Any], count: int = 1) -> bool:
    """Whether the workflow has taken ``count`` moves in (their handlers have begun: they may be
    waiting for the lock)."""
    history = await handle.fetch_history()
    accepted = [
        e.HasField("workflow_execution_update_accepted_event_attributes") for e in history.events
    ]
    return sum(accepted) >= count


@dataclass
class Run:
    env: WorkflowEnvironment
    handle: WorkflowHandle[BookingWorkflow, wf.BookingReport]
    sql: Sql
    starts_at: datetime
    moved: wf.BookingReport | None = None
    """The answer of the move sent with the start."""

    async def move(self, starts_at: datetime) -> wf.BookingReport:
        return await self.handle.execute_update(
            BookingWorkflow.reschedule, wf.RescheduleRequest(starts_at, starts_at + LENGTH)
        )


@asynccontextmanager
async def start_only(
    env: WorkflowEnvironment,
    task_queue: str,
    gate: Gate | None = None,
    *,
    with_move: timedelta | None = None,
) -> AsyncIterator[Run]:
    """A booking starting in ten minutes whose only notice is its start notice; ``with_move``:
    moved that much later by an update sent with its start, so both reach its first task."""
    now = await env.get_current_time()
    starts_at = now + START_IN
    booking = wf.BookingInput(
        booking_id=1,
        starts_at=starts_at,
        ends_at=starts_at + LENGTH,
        reminders=[],
        end_notice=False,
        planned_at=now,
        plan_version=PLAN_VERSION,
    )
    sql = Sql(starts_at, starts_at + LENGTH, rows={"start": (PENDING, None)}, gate=gate)
    async with (
        stub_workers(env, task_queue, sql.mirror_notices, sql.deliver_notice),
    ):
        workflow_id = f"booking-{uuid.uuid4()}"
        if with_move is None:
            handle = await env.client.start_workflow(
                BookingWorkflow.run, booking, id=workflow_id, task_queue=task_queue
            )
            answer = None
        else:
            start = WithStartWorkflowOperation(
                BookingWorkflow.run,
                booking,
                id=workflow_id,
                task_queue=task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            )
            new_start = starts_at + with_move
            moved = await env.client.execute_update_with_start_workflow(
                BookingWorkflow.reschedule,
                wf.RescheduleRequest(new_start, new_start + LENGTH),
                start_workflow_operation=start,
            )
            handle = await start.workflow_handle()
            answer = moved
        try:
            yield Run(env, handle, sql, starts_at, answer)
        finally:
            if gate is not None:
                gate.release.set()
            await terminate_when_settled(env.client, handle.id)


async def _move_while_start_is_held(
    env: WorkflowEnvironment, task_queue: str, before_read: bool
) -> tuple[Run, wf.BookingReport, wf.BookingReport]:
    gate = Gate("start", before_read=before_read)
    async with start_only(env, task_queue, gate) as run:
        await env.sleep(START_IN)  # the start notice is due: its delivery is fired and held
        await asyncio.wait_for(gate.reached.wait(), 10)
        new_start = run.starts_at + MOVED_BY
        moving = asyncio.create_task(run.move(new_start))
        await eventually(lambda: moves_accepted(run.handle), within=10)  # waits for the lock
        gate.release.set()
        moved = await asyncio.wait_for(moving, 10)
        report = await run.handle.result()
    return run, moved, report


@pytest.mark.parametrize(
    "before_read",
    [
        pytest.param(False, id="the old start read its row before the move"),
        pytest.param(True, id="the old start fired, its delivery not yet reading its row"),
    ],
)
async def test_a_move_while_the_start_is_being_delivered_tells_the_user_and_sends_it_again(
    time_env: WorkflowEnvironment, task_queue: str, before_read: bool
) -> None:
    """The move waits for the delivery in flight (it holds the workflow's lock): the old start,
    read before the move wrote the new times, goes out, then the move notice, then the new start
    at the new time."""
    run, moved, report = await _move_while_start_is_held(
        time_env, task_queue, before_read=before_read
    )
    new_start = run.starts_at + MOVED_BY
    assert {n.key: n.status for n in moved.notices}["moved_1"] is SENT  # told at once
    assert run.sql.messages == [
        ("start", run.starts_at, run.starts_at + LENGTH),
        ("moved_1", new_start, new_start + LENGTH),
        ("start.1", new_start, new_start + LENGTH),
    ]
    assert {n.key: n.status for n in report.notices} == {
        "start": SENT,
        "moved_1": SENT,
        "start.1": SENT,
    }


async def test_a_move_just_before_the_start_is_due_moves_it(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    async with start_only(time_env, task_queue) as run:
        await time_env.sleep(START_IN - timedelta(seconds=1))
        new_start = run.starts_at + MOVED_BY
        moved = await run.move(new_start)
        report = await run.handle.result()

    assert {n.key: n.status for n in moved.notices}["moved_1"] is SENT
    assert run.sql.messages == [
        ("moved_1", new_start, new_start + LENGTH),
        ("start", new_start, new_start + LENGTH),
    ]
    assert {n.key: n.status for n in report.notices} == {"start": SENT, "moved_1": SENT}


async def test_a_move_in_the_workflows_first_task_is_not_undone_when_its_run_begins(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    """The incident of the Temporal fault test: the server went down before the booking's first
    workflow task was done, and the retried move reached that task together with the start.
    Handlers run before ``run`` then; the move's new times and plan must survive it."""
    async with start_only(time_env, task_queue, with_move=MOVED_BY) as run:
        new_start = run.starts_at + MOVED_BY
        await time_env.sleep(START_IN + 2 * MOVED_BY)
        report = await run.handle.query(BookingWorkflow.status)

    assert run.sql.messages == [
        ("moved_1", new_start, new_start + LENGTH),
        ("start", new_start, new_start + LENGTH),
    ], run.sql.rows
    assert (report.starts_at, report.ends_at) == (new_start, new_start + LENGTH)
    assert run.moved is not None
    assert {n.key: n.status for n in run.moved.notices} == {"start": PENDING, "moved_1": SENT}
    assert {n.key: (n.status, n.due_at) for n in report.notices} == {
        "start": (SENT, new_start),
        "moved_1": (SENT, run.moved.notices[-1].due_at),
    }


async def test_a_cancel_while_the_start_is_being_delivered_waits_for_it_and_is_announced(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    gate = Gate("start", before_read=False)
    async with start_only(time_env, task_queue, gate) as run:
        await time_env.sleep(START_IN)
        await asyncio.wait_for(gate.reached.wait(), 10)
        await run.handle.signal(BookingWorkflow.cancel)
        run.sql.cancelled = True  # the API commits the cancel before it signals
        gate.release.set()
        report = await run.handle.result()

    assert [key for key, _, _ in run.sql.messages] == ["start", "cancel"]  # read before the cancel
    assert {n.key: n.status for n in report.notices} == {"start": SENT, "cancel": SENT}


async def test_a_second_move_while_the_first_ones_notice_is_being_delivered(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    """The second move waits for the first one's notice; each notice names the times of its move,
    and the start goes out once, at the last time."""
    gate = Gate("moved_1", before_read=False)
    async with start_only(time_env, task_queue, gate) as run:
        first, second = run.starts_at + MOVED_BY, run.starts_at + 2 * MOVED_BY
        moving = asyncio.create_task(run.move(first))
        await asyncio.wait_for(gate.reached.wait(), 10)
        again = asyncio.create_task(run.move(second))
        await eventually(lambda: moves_accepted(run.handle, 2), within=10)
        gate.release.set()
        await asyncio.wait_for(asyncio.gather(moving, again), 10)
        await time_env.sleep(START_IN + 3 * MOVED_BY)
        report = await run.handle.query(BookingWorkflow.status)

    assert run.sql.messages == [
        ("moved_1", first, first + LENGTH),
        ("moved_2", second, second + LENGTH),
        ("start", second, second + LENGTH),
    ]
    assert {n.key: n.status for n in report.notices} == dict.fromkeys(
        ("start", "moved_1", "moved_2"), SENT
    )


async def test_a_move_repeated_to_the_same_times_tells_the_user_once(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    """A caller who retries a move it was told failed (Temporal applied it, then the answer was
    lost: ``TemporalUnavailable`` "timed out") gets the plan back, and the user no second
    "moved" notice."""
    async with start_only(time_env, task_queue) as run:
        new_start = run.starts_at + MOVED_BY
        first = await run.move(new_start)
        again = await run.move(new_start)
        report = await run.handle.result()

    assert again == first
    assert run.sql.messages == [
        ("moved_1", new_start, new_start + LENGTH),
        ("start", new_start, new_start + LENGTH),
    ]
    assert {n.key: n.status for n in report.notices} == {"start": SENT, "moved_1": SENT}
