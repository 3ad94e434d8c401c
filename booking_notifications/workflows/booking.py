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
import functools
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import Priority
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from booking_notifications.core import limits
    from booking_notifications.core.domain import NoticeKind, NoticeStatus
    from booking_notifications.workflows import delivery, history, mirror, patches, plan, visibility
    from booking_notifications.workflows.edit_types import EditReason
    from booking_notifications.workflows.search import BOOKING_STARTS_AT, NEXT_NOTIFICATION_AT
    from booking_notifications.workflows.steps import Step
    from booking_notifications.workflows.types import (
        NOT_CONNECTED,
        BookingInput,
        BookingReport,
        DeliveryOutcome,
        Notice,
        RescheduleRequest,
    )


@workflow.defn(name="BookingNotifications2")
class BookingWorkflow:
    """Sends a booking's reminders, start, end, move and cancel notices, on time or not at all.

    The type name is pinned: bookings sleep for days, and a run is resumed by the name it was
    started with, whatever this class is called by then. Runs started as ``BookingNotifications``
    (``booking_v1``) replay as they were recorded; this type takes every change those runs had to
    ask a patch for without asking (a patch's marker is an action Temporal Cloud bills, on every
    run), finds NextNotificationAt set by its start, and never clears it as it closes.
    """

    @workflow.init
    def __init__(self, booking: BookingInput) -> None:
        # Set before any handler runs: a cancel that started the workflow (signal-with-start)
        # is handled before ``run`` begins and must know when the booking ends.
        self._booking = booking
        # Planned here too (pure, no command): a move handled before ``run`` folds into this plan.
        self._notices = plan.plan_notices(booking, booking.planned_at or workflow.now())
        self._cancel_requested = False
        self._finished = False
        self._revision = 0
        self._lock = asyncio.Lock()
        self._next_published = self._published_at_start()
        self._held: set[str] = set()
        """Keys of notices fired while their user had not connected: they wait for the user."""
        self._connections = 0
        self._tidied: set[str] = set()

    @workflow.run
    async def run(self, booking: BookingInput) -> BookingReport:
        if not self._revision or not self._patched(patches.MOVE_BEFORE_RUN):
            self._booking = booking  # as planned in __init__, unless a move came first
            self._notices = plan.plan_notices(booking, booking.planned_at or workflow.now())
        if self._patched(patches.PUBLISH_FIRST):
            self._publish()
        if booking.planned_at is None:  # the API did not write the rows: write them now
            await self._mirror(self._notices)
        while (step := self._next_step()) is not None:
            if step.at is None or await self._sleep_until(step.at, step.summary):
                await step.then()
        if not workflow.all_handlers_finished():
            self._publish(waiting=True)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    def _patched(self, patch_id: str) -> bool:
        """Whether this run takes the change behind ``patch_id`` (``BUILT_IN`` ones: unasked)."""
        return patch_id in patches.BUILT_IN or workflow.patched(patch_id)

    def _published_at_start(self) -> datetime | None:
        """The NextNotificationAt the run was started with (the API sets it: no upsert then)."""
        return workflow.info().typed_search_attributes.get(NEXT_NOTIFICATION_AT)

    def _next_step(self) -> Step | None:
        """What the booking waits for next, and what it does then; None once nothing is left.

        A cancel winds the booking up at once; else the next notice fires when due, and one held
        for its user (not connected yet) is given up at its latest moment; with neither, the
        booking winds up when it ends. After that only what waits for its user (the cancellation,
        say) keeps the run open. A cancel, a move or a connection ends a wait early."""
        if self._cancel_requested and not self._finished:
            return Step(None, "", self._wind_up)
        notice = plan.next_pending(n for n in self._notices if n.key not in self._held)
        waiting = (n for n in self._notices if n.key in self._held)
        held = min(waiting, key=lambda n: n.latest_at, default=None)  # the first to go stale
        if notice is not None and (held is None or notice.due_at <= held.latest_at):
            return Step(notice.due_at, f"until {notice.key}", functools.partial(self._fire, notice))
        if held is not None:
            summary = f"until {held.key} is too late"
            return Step(held.latest_at, summary, functools.partial(self._give_up, held))
        if not self._finished:
            return Step(self._booking.ends_at, "until the booking ends", self._wind_up)
        return None

    async def _wind_up(self) -> None:
        """The booking ended or was cancelled: nothing moves it from now on; a cancel is told."""
        async with self._lock:
            self._finished = True
        if self._cancel_requested:
            await self._announce_cancel()
        else:
            await self._edit_sent(EditReason.OVER, self._times())

    @workflow.signal
    def cancel(self) -> None:
        """Cancel the booking: pending notices are dropped and the user is told at once.

        Idempotent, and a no-op once the booking has ended. The reason lives in SQL, not here.
        """
        if workflow.now() >= self._booking.ends_at:
            return
        self._cancel_requested = True

    @workflow.signal
    def user_connected(self) -> None:
        """The booking's user connected their Telegram: what waited for them goes out now."""
        self._connections += 1
        self._held.clear()

    @workflow.update
    async def reschedule(self, request: RescheduleRequest) -> BookingReport:
        """Move the booking: pending notices follow, sent reminders re-arm, the user is told."""
        async with self._lock:
            self._refuse_reschedule(request)  # again: the booking may have ended meanwhile
            times = (request.starts_at, request.ends_at)
            if times == (self._booking.starts_at, self._booking.ends_at) and self._patched(
                patches.SAME_MOVE
            ):
                return self.status()
            now, shown = workflow.now(), self._times()
            self._revision += 1
            self._booking = dataclasses.replace(
                self._booking,
                starts_at=request.starts_at,
                ends_at=request.ends_at,
                quiet=request.quiet,
            )
            fresh = plan.plan_notices(self._booking, now)
            changed = plan.replan(self._notices, fresh, self._revision)
            self._held.clear()  # a moved notice is fired anew at its new moment
            moved = plan.moved_notice(now, self._revision)
            self._notices.append(moved)
            await self._mirror([*changed, moved], booking_times=True)
        await self._fire(moved)
        await self._edit_sent(EditReason.MOVED, shown, moved.key)
        return self.status()

    @reschedule.validator
    def _validate_reschedule(self, request: RescheduleRequest) -> None:
        """Refuse a bad move before it is written to history."""
        self._refuse_reschedule(request)

    def _refuse_reschedule(self, request: RescheduleRequest) -> None:
        # The same rules and words as the API's check (an end before the start, a start in the
        # past, out of range: the planner must never see those), judged on the workflow's clock.
        problem = limits.times_problem(request.starts_at, request.ends_at, workflow.now())
        if problem is not None:
            raise ApplicationError(problem, non_retryable=True)
        if self._cancel_requested:
            raise ApplicationError("the booking is cancelled", non_retryable=True)
        if self._finished or workflow.now() >= self._booking.ends_at:
            raise ApplicationError("the booking is over", non_retryable=True)

    @property
    def _id(self) -> int:
        return self._booking.booking_id

    def _times(self) -> tuple[datetime, datetime]:
        return self._booking.starts_at, self._booking.ends_at

    @workflow.query
    def status(self) -> BookingReport:
        """The live plan with each notice's state."""
        return BookingReport(
            booking_id=self._booking.booking_id,
            starts_at=self._booking.starts_at,
            ends_at=self._booking.ends_at,
            cancelled=self._cancel_requested,
            notices=list(self._notices),
        )

    async def _sleep_until(self, moment: datetime, summary: str) -> bool:
        """Wait durably until ``moment``; False when a cancel, a move or the user came first."""
        cancelled, revision, connections = self._cancel_requested, self._revision, self._connections

        def changed() -> bool:
            return (
                self._cancel_requested != cancelled
                or self._revision != revision
                or self._connections != connections
            )

        delay = moment - workflow.now()
        if delay > timedelta(0):
            self._publish(waiting=True)
            with contextlib.suppress(TimeoutError):  # the moment came
                await workflow.wait_condition(changed, timeout=delay, timeout_summary=summary)
        return not changed()

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
            connections = self._connections
            outcome = await self._deliver(notice)
            notice.status, notice.reason, notice.message_id = (
                outcome.status,
                outcome.reason,
                outcome.message_id,
            )
            if outcome.status is NoticeStatus.PENDING and self._connections == connections:
                self._held.add(notice.key)  # its user has not connected: it waits for them
            self._publish()

    async def _give_up(self, notice: Notice) -> None:
        """Its latest moment came and its user never connected: skipped, not sent late."""
        self._held.discard(notice.key)
        plan.skip(notice, NOT_CONNECTED)
        await self._mirror([notice])

    async def _deliver(self, notice: Notice) -> DeliveryOutcome:
        tidy = self._tidied_by(notice)
        try:
            outcome = await delivery.deliver(self._booking, notice, tidy, self._priority(notice))
        except ActivityError as err:
            failed = DeliveryOutcome(NoticeStatus.FAILED, f"gave up: {err.cause or err}")
            notice.status, notice.reason = failed.status, failed.reason
            await self._mirror([notice])
            return failed
        if outcome.status is NoticeStatus.SENT:
            self._tidied.update(tidy)
        return outcome

    def _priority(self, notice: Notice) -> Priority:
        """The delivery's place in the queue's backlog: the nearest deadline first."""
        return delivery.priority(notice.latest_at)

    def _tidied_by(self, notice: Notice) -> list[str]:
        """The messages whose buttons the end notice's delivery takes away as it goes (no edit
        activity of their own: one action less); the wind-up edits them if it was not sent."""
        over = notice.kind is NoticeKind.END
        return history.stale(self._notices, EditReason.OVER) if over else []

    async def _announce_cancel(self) -> None:
        self._held.clear()
        for notice in self._notices:
            if notice.status is NoticeStatus.PENDING:
                notice.status, notice.reason = NoticeStatus.CANCELLED, "booking cancelled"
        announcement = plan.cancel_notice(workflow.now())
        self._notices.append(announcement)
        await self._mirror(self._notices)
        await self._fire(announcement)
        await self._edit_sent(EditReason.CANCELLED, self._times())

    async def _edit_sent(
        self, reason: EditReason, shown: tuple[datetime, datetime], but: str | None = None
    ) -> None:
        left = {*self._tidied, *([but] if but else [])}
        await history.edit_sent(self._id, self._notices, reason, shown, left, self._patched, True)

    async def _mirror(self, notices: list[Notice], *, booking_times: bool = False) -> None:
        """Write notice states (and, after a move, the booking's times) into the rows."""
        await mirror.mirror(self._booking, notices, booking_times=booking_times)
        moved = [BOOKING_STARTS_AT.value_set(self._booking.starts_at)] if booking_times else []
        self._publish(also=moved)

    def _publish(
        self, *, waiting: bool = False, also: list[visibility.Update] | None = None
    ) -> None:
        """Keep what the Temporal UI shows of the run current, in one upsert at most; a run with
        nothing pending clears NextNotificationAt only before it waits (``waiting``), so a run
        that closes right after its last notice costs no upsert for it."""
        self._next_published = visibility.publish(
            self._notices, self._next_published, also=also or (), unset=waiting
        )
