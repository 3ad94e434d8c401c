"""The booking workflow: sleep durably until each notice is due, deliver it, follow moves and cancels.

One workflow per booking, id ``booking-<id>``. It never touches the database or the clock: the
activities write the rows, and time is ``workflow.now()``. It lives until the booking ends so that
a cancellation or a move during the booking is still handled; a cancel after that changes nothing.

A lock keeps a delivery and a reschedule from interleaving: a reminder being sent finishes before
the plan moves, and a notice the move made stale is never sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from booking_notifications.clock import utc_text
    from booking_notifications.workflows import activities, limits, plan
    from booking_notifications.workflows.search import BOOKING_STARTS_AT, NEXT_NOTIFICATION_AT
    from booking_notifications.workflows.types import (
        BookingInput,
        BookingReport,
        DeliveryOutcome,
        DeliveryRequest,
        MirrorRequest,
        Notice,
        NoticeStatus,
        RescheduleRequest,
    )

MIRROR_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
"""Row writes retry until the database is back: a notice's state is never dropped."""
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
)
"""Network errors and 5xx retry with backoff; a 429 overrides the delay with its retry_after."""
DELIVERY_ATTEMPT_TIMEOUT = timedelta(seconds=30)
DELIVERY_HEARTBEAT_TIMEOUT = timedelta(seconds=5)
"""A delivery running longer than a second heartbeats; silence this long means its worker died,
and the send is retried then rather than after the whole attempt timeout."""
PUBLISH_FIRST = "publish-before-mirror"
"""Patch: show NextNotificationAt before the first row write, so the UI is right even while the
database is down. Runs recorded before it (tests/histories/v1-*) replay without it."""


def delivery_task_queue(task_queue: str) -> str:
    """Deliveries have their own queue so the server can rate-limit sends across all workers."""
    return f"{task_queue}-delivery"


@workflow.defn(name="BookingNotifications")
class BookingWorkflow:
    """Sends a booking's reminders, start, end, move and cancel notices, on time or not at all.

    The type name is pinned: bookings sleep for days, and a run is resumed by the name it was
    started with, whatever this class is called by then.
    """

    @workflow.init
    def __init__(self, booking: BookingInput) -> None:
        # Set before any handler runs: a cancel that started the workflow (signal-with-start)
        # is handled before ``run`` begins and must know when the booking ends.
        self._booking: BookingInput | None = booking
        self._notices: list[Notice] = []
        self._cancel_requested = False
        self._finished = False
        self._revision = 0
        self._lock = asyncio.Lock()
        self._next_published: datetime | None = None

    @workflow.run
    async def run(self, booking: BookingInput) -> BookingReport:
        self._booking = booking
        self._notices = plan.plan_notices(booking, booking.planned_at or workflow.now())
        if workflow.patched(PUBLISH_FIRST):
            self._publish()
        if booking.planned_at is None:  # the API did not write the rows: write them now
            await self._mirror(self._notices)
        while not self._cancel_requested:
            notice = plan.next_pending(self._notices)
            if notice is None:
                if await self._sleep_until(self._booking.ends_at, "until the booking ends"):
                    break
            elif await self._sleep_until(notice.due_at, f"until {notice.key}"):
                await self._fire(notice)
        async with self._lock:
            self._finished = True
        if self._cancel_requested:
            await self._announce_cancel()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    @workflow.signal
    def cancel(self) -> None:
        """Cancel the booking: pending notices are dropped and the user is told at once.

        Idempotent, and a no-op once the booking has ended. The reason lives in SQL, not here.
        """
        if self._booking is not None and workflow.now() >= self._booking.ends_at:
            return
        self._cancel_requested = True

    @workflow.update
    async def reschedule(self, request: RescheduleRequest) -> BookingReport:
        """Move the booking: pending notices follow, sent reminders re-arm, the user is told."""
        async with self._lock:
            self._refuse_reschedule(request)  # again: the booking may have ended meanwhile
            assert self._booking is not None
            now = workflow.now()
            self._revision += 1
            self._booking = dataclasses.replace(
                self._booking,
                starts_at=request.starts_at,
                ends_at=request.ends_at,
                quiet=request.quiet,
            )
            fresh = plan.plan_notices(self._booking, now)
            changed = plan.replan(self._notices, fresh, self._revision)
            moved = plan.moved_notice(now, self._revision)
            self._notices.append(moved)
            await self._mirror([*changed, moved], booking_times=True)
            workflow.upsert_search_attributes([BOOKING_STARTS_AT.value_set(request.starts_at)])
        await self._fire(moved)
        return self.status()

    @reschedule.validator
    def _validate_reschedule(self, request: RescheduleRequest) -> None:
        """Refuse a bad move before it is written to history."""
        self._refuse_reschedule(request)

    def _refuse_reschedule(self, request: RescheduleRequest) -> None:
        if request.ends_at <= request.starts_at:
            raise ApplicationError("the new end is not after the new start", non_retryable=True)
        if request.starts_at <= workflow.now():
            raise ApplicationError("the new start has already passed", non_retryable=True)
        problem = limits.times_problem(request.starts_at, request.ends_at, workflow.now())
        if problem is not None:  # out of range: the planner must never see it
            raise ApplicationError(problem, non_retryable=True)
        if self._cancel_requested:
            raise ApplicationError("the booking is cancelled", non_retryable=True)
        if self._finished or (self._booking and workflow.now() >= self._booking.ends_at):
            raise ApplicationError("the booking is over", non_retryable=True)

    @workflow.query
    def status(self) -> BookingReport:
        """The live plan with each notice's state."""
        assert self._booking is not None
        return BookingReport(
            booking_id=self._booking.booking_id,
            starts_at=self._booking.starts_at,
            ends_at=self._booking.ends_at,
            cancelled=self._cancel_requested,
            notices=list(self._notices),
        )

    async def _sleep_until(self, moment: datetime, summary: str) -> bool:
        """Wait durably until ``moment``; False when a cancel or a move came first."""
        revision = self._revision
        delay = moment - workflow.now()
        if delay > timedelta(0) and not self._cancel_requested:
            with contextlib.suppress(TimeoutError):  # the moment came
                await workflow.wait_condition(
                    lambda: self._cancel_requested or self._revision != revision,
                    timeout=delay,
                    timeout_summary=summary,
                )
        return not self._cancel_requested and self._revision == revision

    async def _fire(self, notice: Notice) -> None:
        """Deliver a due notice, or skip it when it has gone stale while we waited."""
        async with self._lock:
            if notice.status is not NoticeStatus.PENDING or notice.due_at > workflow.now():
                return  # a move changed it while we waited for the lock
            reason = plan.skip_reason_when_due(notice, workflow.now())
            if reason is not None:
                plan.skip(notice, reason)
                await self._mirror([notice])
                return
            outcome = await self._deliver(notice)
            notice.status, notice.reason, notice.message_id = (
                outcome.status,
                outcome.reason,
                outcome.message_id,
            )
            self._publish()

    async def _deliver(self, notice: Notice) -> DeliveryOutcome:
        assert self._booking is not None
        request = DeliveryRequest(
            booking_id=self._booking.booking_id,
            key=notice.key,
            kind=notice.kind,
            due_at=notice.due_at,
            latest_at=notice.latest_at,
            starts_at=self._booking.starts_at,
            ends_at=self._booking.ends_at,
        )
        retry_for = timedelta(seconds=self._booking.retry_for)
        deadline = max(notice.latest_at - workflow.now(), timedelta(0)) + retry_for
        try:
            outcome = await workflow.execute_activity(
                activities.deliver_notice,
                request,
                task_queue=delivery_task_queue(workflow.info().task_queue),
                start_to_close_timeout=DELIVERY_ATTEMPT_TIMEOUT,
                heartbeat_timeout=DELIVERY_HEARTBEAT_TIMEOUT,
                schedule_to_close_timeout=deadline,
                retry_policy=DELIVERY_RETRY,
                summary=f"deliver {notice.key}",
            )
            return outcome
        except ActivityError as err:
            failed = DeliveryOutcome(NoticeStatus.FAILED, f"gave up: {err.cause or err}")
            notice.status, notice.reason = failed.status, failed.reason
            await self._mirror([notice])
            return failed

    async def _announce_cancel(self) -> None:
        for notice in self._notices:
            if notice.status is NoticeStatus.PENDING:
                notice.status, notice.reason = NoticeStatus.CANCELLED, "booking cancelled"
        announcement = plan.cancel_notice(workflow.now())
        self._notices.append(announcement)
        await self._mirror(self._notices)
        await self._fire(announcement)

    async def _mirror(self, notices: list[Notice], *, booking_times: bool = False) -> None:
        """Write notice states (and, after a move, the booking's times) into the rows."""
        assert self._booking is not None
        await workflow.execute_activity(
            activities.mirror_notices,
            MirrorRequest(
                self._booking.booking_id,
                list(notices),
                self._booking.starts_at if booking_times else None,
                self._booking.ends_at if booking_times else None,
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=MIRROR_RETRY,
            summary=f"mirror {len(notices)} notice(s)",
        )
        self._publish()

    def _publish(self) -> None:
        """Keep the NextNotificationAt search attribute and the UI's current details current."""
        upcoming = plan.next_pending(self._notices)
        next_at = upcoming.due_at if upcoming else None
        if next_at != self._next_published:
            self._next_published = next_at
            update = (
                NEXT_NOTIFICATION_AT.value_set(next_at)
                if next_at
                else NEXT_NOTIFICATION_AT.value_unset()
            )
            workflow.upsert_search_attributes([update])
        lines = [
            f"- **{n.key}** due {utc_text(n.due_at)}: {n.status}"
            + (f" ({n.reason})" if n.reason else "")
            for n in self._notices
        ]
        workflow.set_current_details("\n".join(lines))
