"""Cancelling a booking: final once its row commits, whatever Temporal is doing.

The cancel is recorded in SQL first (in booking code's transaction when it passes one): a
reminder being delivered re-reads the row and is skipped, so the cancel holds before the workflow
hears of it. The signal (a signal-with-start, so a booking whose workflow never started starts
cancelled) follows at once, or from ``Starts.follow`` while Temporal is unreachable, and else
from ``reconcile``.
"""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.exceptions import WorkflowAlreadyStartedError

from booking_notifications.api.bookings import check_session
from booking_notifications.api.requests import InvalidBooking, check_cancel_reason
from booking_notifications.api.results import CancelResult
from booking_notifications.api.runs import ASK_ONCE, BookingRuns, RunState
from booking_notifications.api.starts import Starts
from booking_notifications.api.views import get_booking
from booking_notifications.core.clock import Clock
from booking_notifications.db.events import EventType, emit
from booking_notifications.db.models import CANCELLED_BY_MAX, Booking, Event
from booking_notifications.db.session import Sessions
from booking_notifications.errors import is_transient

BY_SERVICE = "service"
"""``by`` of a ``booking.cancelled`` event when booking code cancelled (``by`` not given)."""


class Cancels:
    """``BookingNotifier.cancel``'s work, on the notifier's runs, starts, sessions and clock."""

    def __init__(self, runs: BookingRuns, starts: Starts, sessions: Sessions, clock: Clock) -> None:
        self._runs = runs
        self._starts = starts
        self._sessions = sessions
        self._clock = clock

    async def cancel(
        self,
        booking_id: int,
        reason: str | None,
        *,
        by: str | None,
        session: AsyncSession | None,
    ) -> CancelResult:
        """See ``BookingNotifier.cancel``."""
        reason = check_cancel_reason(reason)
        if by is not None and not (0 < len(by) <= CANCELLED_BY_MAX and by.isidentifier()):
            raise InvalidBooking(f"by must be a short word such as 'user', not {by!r}")
        if session is not None:
            check_session(session)
            _, result = await self._mark(session, booking_id, reason, by)
            if result is not CancelResult.OVER:
                self._starts.after_commit(session, [booking_id])
            return result
        async with self._sessions() as own:
            booking, result = await self._mark(own, booking_id, reason, by)
            await own.commit()
        if result is CancelResult.OVER:
            return result
        try:
            await self._runs.start(booking, cancel=True)
        except WorkflowAlreadyStartedError:  # it ended meanwhile: nothing to cancel
            if result is CancelResult.CANCELLED:
                await self._undo(booking_id)
                return CancelResult.OVER
            return result
        except Exception as err:
            if not is_transient(err):
                raise
            self._starts.follow(self._starts.sync, [booking_id])
            return result
        await self._starts.mark_scheduled([booking])
        return result

    async def _mark(
        self, session: AsyncSession, booking_id: int, reason: str | None, by: str | None
    ) -> tuple[Booking, CancelResult]:
        """Record the cancel in ``session`` (not committed) unless the booking is over or
        already cancelled; the booking (its user loaded) and what the cancel does."""
        booking = await get_booking(session, booking_id)
        already = booking.cancelled_at is not None
        if await self._over(booking):
            return booking, CancelResult.ALREADY_CANCELLED if already else CancelResult.OVER
        if already:
            return booking, CancelResult.ALREADY_CANCELLED
        booking.cancelled_at, booking.cancel_reason = self._clock(), reason
        booking.cancelled_by = by
        emit(
            session,
            EventType.BOOKING_CANCELLED,
            at=booking.cancelled_at,
            booking_id=booking.id,
            data={"by": by or BY_SERVICE, "reason": reason},
        )
        await session.flush()
        return booking, CancelResult.CANCELLED

    async def _over(self, booking: Booking) -> bool:
        """Whether the booking has ended: its workflow's word, or its end time when it never
        had one or Temporal cannot be asked now (asked once, without the SDK's retries)."""
        try:
            state = await self._runs.state(booking, within=ASK_ONCE)
        except Exception as err:
            if not is_transient(err):
                raise
            state = RunState.NONE
        if state is RunState.NONE:
            return booking.ends_at <= self._clock()
        return state is RunState.CLOSED

    async def _undo(self, booking_id: int) -> None:
        """Undo the row's cancel: its workflow ended before the cancel could reach it. Its event
        goes too, unless the relay delivered it in these milliseconds."""
        async with self._sessions() as session:
            await session.execute(
                update(Booking)
                .where(Booking.id == booking_id)
                .values(cancelled_at=None, cancel_reason=None, cancelled_by=None)
            )
            await session.execute(
                delete(Event)
                .where(Event.booking_id == booking_id)
                .where(Event.type == EventType.BOOKING_CANCELLED)
                .where(Event.delivered_at.is_(None))
            )
            await session.commit()
