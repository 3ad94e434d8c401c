"""Scheduling bookings: every request checked, then all rows in one transaction, then the starts.

In booking code's own session the rows go into its transaction and the workflows start after it
commits (``Starts.after_commit``); else the rows commit here and the workflows start at once, or
in the background while Temporal is unreachable (``Starts.start_all``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from booking_notifications.api.bookings import add_all, check_session, numbered
from booking_notifications.api.requests import BookingRequest, InvalidBooking
from booking_notifications.api.starts import Starts
from booking_notifications.core.clock import Clock
from booking_notifications.db.models import Booking
from booking_notifications.db.session import Sessions

Progress = Callable[[str, int, int], None]
"""Told how far a batch got: the stage (``checked``, ``written``, ``started``), how many of the
total have passed it, and the total."""


async def schedule_all(
    starts: Starts,
    sessions: Sessions,
    clock: Clock,
    requests: Sequence[BookingRequest],
    session: AsyncSession | None,
    progress: Progress | None = None,
) -> list[int]:
    """See ``BookingNotifier.schedule_many``; the bookings' ids, in the order of ``requests``."""
    tell = progress or _silent
    now = clock()
    checked = []
    for number, request in enumerate(requests, start=1):
        try:
            checked.append(request.validated(now))
        except InvalidBooking as err:
            raise InvalidBooking(numbered(number, len(requests), err)) from None
    tell("checked", len(checked), len(requests))
    if session is not None:
        check_session(session)
        added = await add_all(session, checked, now)
        starts.after_commit(session, [booking.id for booking, _ in added])
        return [booking.id for booking, _ in added]
    try:
        added = await _write(sessions, checked, now)
    except IntegrityError:
        # A concurrent call created the same user (or ref) first; now we find and reuse it.
        added = await _write(sessions, checked, now)
    tell("written", len(added), len(requests))
    await starts.start_all(added, lambda done: tell("started", done, len(added)))
    return [booking.id for booking, _ in added]


def _silent(_stage: str, _done: int, _total: int) -> None:
    """No one asked how far the batch got."""


async def _write(
    sessions: Sessions, requests: Sequence[BookingRequest], now: datetime
) -> list[tuple[Booking, bool]]:
    async with sessions() as session:
        added = await add_all(session, requests, now)
        await session.commit()
    return added
