"""The booking workflow alone, on the time-skipping server: its activities are same-named stubs.

No database, no HTTP: the stubs record what the workflow asks for (which notice to deliver, when,
which states to mirror) and answer what a test chooses. Days pass in milliseconds. The end-to-end
tests (``test_workflow_real_activities.py`` and others) run the same workflow with the real activities.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from booking_notifications.core.domain import NoticeStatus, QuietWindow
from booking_notifications.workflows.activities import DELIVER_NOTICE, MIRROR_NOTICES
from booking_notifications.workflows.booking import BookingWorkflow
from booking_notifications.workflows.plan import PLAN_VERSION
from booking_notifications.workflows.types import (
    BookingInput,
    BookingReport,
    DeliveryOutcome,
    DeliveryRequest,
    MirrorRequest,
    RescheduleRequest,
)
from tests.support.bookings import PLAN
from tests.support.stubs import stub_workers
from tests.support.time_skipping import terminate_when_settled

H = timedelta(hours=1)
SENT, FAILED, SKIPPED = NoticeStatus.SENT, NoticeStatus.FAILED, NoticeStatus.SKIPPED
CANCELLED, PENDING = NoticeStatus.CANCELLED, NoticeStatus.PENDING
ON_TIME = timedelta(minutes=1)
"""How far after its due moment a delivery still counts as on time: far inside every tolerance
(15 minutes and more), far beyond the real milliseconds a workflow task takes."""


@dataclass(frozen=True)
class Delivery:
    """One attempt of the stub delivery: which notice, and when (the server's clock)."""

    key: str
    at: datetime
    attempt: int


Answer = Callable[[DeliveryRequest], DeliveryOutcome]
"""What the stub delivery does with a request: return its outcome, or raise."""


def sent(request: DeliveryRequest) -> DeliveryOutcome:
    return DeliveryOutcome(SENT, message_id=len(request.key))


@dataclass
class Stubs:
    """``mirror_notices`` and ``deliver_notice`` under their declared names, recording each call."""

    answer: Answer = sent
    deliveries: list[Delivery] = field(default_factory=list)
    mirrored: list[MirrorRequest] = field(default_factory=list)

    @activity.defn(name=MIRROR_NOTICES)
    async def mirror_notices(self, request: MirrorRequest) -> None:
        self.mirrored.append(request)

    @activity.defn(name=DELIVER_NOTICE)
    async def deliver_notice(self, request: DeliveryRequest) -> DeliveryOutcome:
        info = activity.info()
        self.deliveries.append(
            Delivery(request.key, info.current_attempt_scheduled_time, info.attempt)
        )
        return self.answer(request)

    def delivered(self) -> list[tuple[str, datetime]]:
        """Each notice delivered, in order, with the moment its delivery was scheduled."""
        return [(d.key, d.at) for d in self.deliveries]

    def mirrored_states(self) -> dict[str, tuple[NoticeStatus, str | None]]:
        """The latest state and reason mirrored for each notice."""
        return {n.key: (n.status, n.reason) for m in self.mirrored for n in m.notices}


@dataclass
class Run:
    """A booking workflow running on the test's own task queue."""

    env: WorkflowEnvironment
    handle: WorkflowHandle[BookingWorkflow, BookingReport]
    stubs: Stubs
    now: datetime
    """The server's clock when the booking was made."""

    async def result(self) -> BookingReport:
        return await self.handle.result()

    def statuses(self, report: BookingReport) -> dict[str, NoticeStatus]:
        return {n.key: n.status for n in report.notices}


@asynccontextmanager
async def booking_run(
    env: WorkflowEnvironment,
    task_queue: str,
    start_in: timedelta,
    length: timedelta = H,
    *,
    answer: Answer = sent,
    **fields: object,
) -> AsyncIterator[Run]:
    """Start the workflow of a booking starting ``start_in`` from now, planned as the API plans
    it, with workers for its two queues running the stubs; terminated at the end if it still runs
    (``tests.support.time_skipping``)."""
    stubs = Stubs(answer)
    now = await env.get_current_time()
    booking = BookingInput(
        booking_id=1,
        starts_at=now + start_in,
        ends_at=now + start_in + length,
        planned_at=now,
        plan_version=PLAN_VERSION,
        **fields,  # type: ignore[arg-type]
    )
    async with (
        stub_workers(env, task_queue, stubs.mirror_notices, stubs.deliver_notice),
    ):
        handle = await env.client.start_workflow(
            BookingWorkflow.run, booking, id=f"booking-{uuid.uuid4()}", task_queue=task_queue
        )
        try:
            yield Run(env, handle, stubs, now)
        finally:
            await terminate_when_settled(env.client, handle.id)


def on_time(delivered: list[tuple[str, datetime]], due: list[tuple[str, datetime]]) -> bool:
    """Whether the same notices were delivered in the same order, each at its due moment."""
    return [key for key, _ in delivered] == [key for key, _ in due] and all(
        moment <= at < moment + ON_TIME for (_, at), (_, moment) in zip(delivered, due, strict=True)
    )


async def test_the_plans_notices_are_delivered_in_order_each_at_its_due_moment(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    async with booking_run(time_env, task_queue, 48 * H, 2 * H) as run:
        report = await run.result()

    start = run.now + 48 * H
    assert on_time(
        run.stubs.delivered(),
        [
            ("reminder_24h", start - 24 * H),
            ("reminder_1h", start - H),
            ("start", start),
            ("end", start + 2 * H),
        ],
    ), run.stubs.delivered()
    assert run.statuses(report) == dict.fromkeys(PLAN, SENT)
    assert [n.message_id for n in report.notices] == [12, 11, 5, 3]  # what the delivery answered
    assert run.stubs.mirrored == []  # the API wrote the planned rows; deliveries write their own
    assert report.cancelled is False


async def test_a_notice_already_stale_when_planned_is_skipped_and_never_delivered(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    async with booking_run(time_env, task_queue, 3 * H) as run:
        report = await run.result()

    assert [key for key, _ in run.stubs.delivered()] == ["reminder_1h", "start", "end"]
    skipped = report.notices[0]
    assert (skipped.key, skipped.status) == ("reminder_24h", SKIPPED)
    assert "too late when planned" in (skipped.reason or "")


async def test_a_cancel_drops_what_is_pending_and_delivers_the_cancel_notice_once(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    async with booking_run(time_env, task_queue, 30 * H) as run:
        await time_env.sleep(7 * H)  # the 24 h reminder went out at +6 h
        await run.handle.signal(BookingWorkflow.cancel)
        await run.handle.signal(BookingWorkflow.cancel)  # a retried cancel
        report = await run.result()

    assert on_time(
        run.stubs.delivered(), [("reminder_24h", run.now + 6 * H), ("cancel", run.now + 7 * H)]
    ), run.stubs.delivered()
    assert run.statuses(report) == {
        **dict.fromkeys(PLAN, CANCELLED),
        "reminder_24h": SENT,
        "cancel": SENT,
    }
    assert run.stubs.mirrored_states() == {
        "reminder_24h": (SENT, None),
        "reminder_1h": (CANCELLED, "booking cancelled"),
        "start": (CANCELLED, "booking cancelled"),
        "end": (CANCELLED, "booking cancelled"),
        "cancel": (PENDING, None),  # mirrored before its delivery, which records SENT itself
    }
    assert report.cancelled is True


async def test_a_move_re_arms_a_sent_reminder_and_every_pending_notice_follows(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    async with booking_run(time_env, task_queue, 30 * H) as run:
        await time_env.sleep(7 * H)  # the 24 h reminder went out at +6 h
        new_start = run.now + 50 * H
        moved = await run.handle.execute_update(
            BookingWorkflow.reschedule, RescheduleRequest(new_start, new_start + 2 * H)
        )
        report = await run.result()

    assert {n.key: n.status for n in moved.notices}["moved_1"] is SENT  # told at once
    assert on_time(
        run.stubs.delivered(),
        [
            ("reminder_24h", run.now + 6 * H),
            ("moved_1", run.now + 7 * H),
            ("reminder_24h.1", new_start - 24 * H),
            ("reminder_1h", new_start - H),
            ("start", new_start),
            ("end", new_start + 2 * H),
        ],
    ), run.stubs.delivered()
    (mirror,) = run.stubs.mirrored  # the move, written once with the new times
    assert (mirror.starts_at, mirror.ends_at) == (new_start, new_start + 2 * H)
    assert [n.key for n in mirror.notices] == [
        "reminder_24h.1",
        "reminder_1h",
        "start",
        "end",
        "moved_1",
    ]
    assert (report.starts_at, report.ends_at) == (new_start, new_start + 2 * H)


async def test_a_move_to_a_start_already_passed_is_refused_and_changes_nothing(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    async with booking_run(time_env, task_queue, 30 * H) as run:
        before = await run.handle.query(BookingWorkflow.status)
        past = run.now - H
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await run.handle.execute_update(
                BookingWorkflow.reschedule, RescheduleRequest(past, past + 2 * H)
            )
        after = await run.handle.query(BookingWorkflow.status)

    assert str(refused.value.cause) == f"starts_at {past.isoformat()} is in the past"
    assert after == before
    assert run.stubs.delivered() == [] and run.stubs.mirrored == []


async def test_a_delivery_failing_for_good_ends_failed_with_the_reason_and_the_rest_go_on(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    def chat_not_found_at_start(request: DeliveryRequest) -> DeliveryOutcome:
        if request.key == "start":
            raise ApplicationError("chat not found", non_retryable=True)
        return sent(request)

    async with booking_run(
        time_env, task_queue, 2 * H, reminders=[], answer=chat_not_found_at_start
    ) as run:
        report = await run.result()

    start = next(n for n in report.notices if n.key == "start")
    assert (start.status, start.reason) == (FAILED, "gave up: chat not found")
    assert run.stubs.mirrored_states() == {"start": (FAILED, "gave up: chat not found")}
    assert [(d.key, d.attempt) for d in run.stubs.deliveries] == [("start", 1), ("end", 1)]
    assert run.statuses(report)["end"] is SENT


async def test_a_delivery_failing_for_a_moment_is_retried_and_the_notice_sent(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    def down_at_first(request: DeliveryRequest) -> DeliveryOutcome:
        if activity.info().attempt == 1:
            raise ApplicationError("Telegram answered 502")
        return sent(request)

    async with booking_run(
        time_env, task_queue, 2 * H, reminders=[], end_notice=False, answer=down_at_first
    ) as run:
        report = await run.result()

    assert [(d.key, d.attempt) for d in run.stubs.deliveries] == [("start", 1), ("start", 2)]
    assert run.statuses(report) == {"start": SENT}
    assert run.stubs.mirrored == []


async def test_a_reminder_due_in_quiet_hours_is_held_back_to_just_before_they_begin(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    now = await time_env.get_current_time()
    quiet = QuietWindow(now + 20 * H, now + 29.5 * H)  # the 1 h reminder is due at +29 h
    async with booking_run(time_env, task_queue, 30 * H, quiet=[quiet]) as run:
        report = await run.result()

    assert on_time(
        run.stubs.delivered(),
        [
            ("reminder_24h", run.now + 6 * H),
            ("reminder_1h", quiet.starts_at - timedelta(minutes=5)),
            ("start", run.now + 30 * H),
            ("end", run.now + 31 * H),
        ],
    ), run.stubs.delivered()
    assert set(run.statuses(report).values()) == {SENT}
