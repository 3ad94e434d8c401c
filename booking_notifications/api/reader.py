"""``BookingReader``: the read side of ``BookingNotifier`` (which is one): a booking and its
notices as the rows have them, the plan its running workflow holds, and the events (read, or
queued for the webhook again).

A read changes nothing, so it is safe to retry; the rows' reads never ask Temporal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from booking_notifications.api import events, views
from booking_notifications.api.events import EventView
from booking_notifications.api.runs import BookingRuns, OnRunsAndRows
from booking_notifications.api.views import LIST_LIMIT, BookingView, NoticeView, get_booking
from booking_notifications.core.clock import Clock
from booking_notifications.core.domain import NoticeStatus
from booking_notifications.db.session import Sessions
from booking_notifications.errors import in_our_words
from booking_notifications.workflows.booking import BookingWorkflow
from booking_notifications.workflows.types import BookingReport


@in_our_words
class BookingReader(OnRunsAndRows):
    """Reads bookings, their notices and the events, on the notifier's sessions and runs.

    Like every call of the API, its calls raise ``Unavailable`` rather than the SDK's or the
    driver's errors when a dependency is down.
    """

    def __init__(self, sessions: Sessions, runs: BookingRuns, clock: Clock) -> None:
        self._sessions = sessions
        self._runs = runs
        self._clock = clock

    async def status(self, booking_id: int) -> BookingView:
        """The booking and its notice rows as SQL has them now; Temporal is not asked.

        Raises:
            BookingNotFound: no booking has that id.
            DatabaseUnavailable: the database cannot be reached.
        """
        return await views.booking_view(self._sessions, booking_id)

    async def list_notices(
        self,
        *,
        chat_id: int | None = None,
        user_ref: str | None = None,
        status: NoticeStatus | None = None,
        due_from: datetime | None = None,
        due_until: datetime | None = None,
        limit: int = LIST_LIMIT,
    ) -> list[NoticeView]:
        """Notices in due order: a user's (by chat id or user_ref), by status, due in a window;
        read from SQL, Temporal is not asked.

        Raises:
            DatabaseUnavailable: the database cannot be reached.
        """
        return await views.list_notices(
            self._sessions,
            chat_id=chat_id,
            user_ref=user_ref,
            status=status,
            due_from=due_from,
            due_until=due_until,
            limit=limit,
        )

    async def events(
        self, after: int = 0, limit: int = 100, *, failed: bool = False
    ) -> list[EventView]:
        """What happened, in commit order: the events written with each change (see README,
        "Events"). Page on with the ``seq`` of the last one; no event is skipped or repeated.

        Args:
            after: the ``seq`` of the last event already handled (0 for the oldest kept).
            limit: at most this many (1 to 1000).
            failed: only events whose webhook delivery finally failed.

        Returns:
            The events, each with where its webhook delivery stands.

        Raises:
            InvalidBooking: ``after`` or ``limit`` is out of range.
            DatabaseUnavailable: the database cannot be reached.
        """
        return await events.page(self._sessions, after, limit, failed=failed)

    async def redeliver(
        self, seqs: Sequence[int], *, retry_for: timedelta = timedelta(hours=24)
    ) -> int:
        """Send events to the webhook again (a receiver lost them, or they finally failed).

        Args:
            seqs: the events' ``seq``.
            retry_for: how long they are retried from now if they do not get through.

        Returns:
            How many of them were queued again (unknown ones are left out).
        """
        return await events.redeliver(self._sessions, seqs, self._clock(), retry_for)

    async def live_plan(self, booking_id: int) -> BookingReport:
        """The plan as the running workflow holds it (a query), including what the rows lag."""
        async with self._sessions() as session:
            booking = await get_booking(session, booking_id)
        await self._runs.check_owned(booking)
        return await self._runs.handle(booking_id).query(BookingWorkflow.status)

    def workflow_id(self, booking_id: int) -> str:
        """The id of the booking's workflow (``booking-<id>`` by default), for the Temporal UI."""
        return self._runs.workflow_id(booking_id)
