"""Moving a booking: a workflow update, so it needs Temporal, and a refusal changes nothing."""

from __future__ import annotations

from datetime import datetime

from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from booking_notifications.api.bookings import quiet_windows, reminder_offsets
from booking_notifications.api.requests import InvalidBooking, check_times
from booking_notifications.api.runs import BookingRuns, RunState
from booking_notifications.api.starts import Starts
from booking_notifications.api.views import get_booking
from booking_notifications.core.clock import Clock
from booking_notifications.db.session import Sessions
from booking_notifications.workflows.booking import BookingWorkflow
from booking_notifications.workflows.types import BookingReport, RescheduleRequest


async def move(
    runs: BookingRuns,
    starts: Starts,
    sessions: Sessions,
    clock: Clock,
    booking_id: int,
    starts_at: datetime,
    ends_at: datetime,
) -> BookingReport:
    """See ``BookingNotifier.reschedule``; ``InvalidBooking`` says why a move is refused (the
    caller names the booking)."""
    starts_at, ends_at = check_times(starts_at, ends_at, clock())
    async with sessions() as session:
        booking = await get_booking(session, booking_id)
    if booking.cancelled_at is not None:
        raise InvalidBooking("the booking is cancelled")
    state = await runs.state(booking)
    if state is RunState.NONE and booking.ends_at > clock():
        await starts.sync_one(booking)
        await starts.mark_scheduled([booking])
    elif state is not RunState.RUNNING:
        raise InvalidBooking("the booking is over")
    request = RescheduleRequest(
        starts_at,
        ends_at,
        quiet_windows(booking.user, starts_at, since=clock(), reminders=reminder_offsets(booking)),
    )
    try:
        return await runs.handle(booking_id).execute_update(BookingWorkflow.reschedule, request)
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        raise InvalidBooking(
            cause.message if isinstance(cause, ApplicationError) else str(cause or err)
        ) from None
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise InvalidBooking("the booking is over") from None
        raise
