"""``BookingNotifier``: schedule, move, cancel and read the notices of bookings.

    async with await BookingNotifier.from_settings(load_settings()) as notifier:
        booking_id = await notifier.schedule(BookingRequest(chat_id=42, starts_at=..., ends_at=...))
        await notifier.cancel(booking_id, reason="room closed")
        print(await notifier.status(booking_id))

Scheduling writes the user, booking and notice rows, then starts workflow ``booking-<id>``. Booking
code that shares our database can pass its own ``AsyncSession``: the rows then commit or roll back
with its booking, and the workflow starts once that transaction commits. A crash between a commit
and a start is repaired by ``reconcile``, which the worker runs on a Temporal Schedule.

Every answer is the truth through an outage: a call succeeds, or raises having changed nothing,
or (``schedule``, ``cancel``) has committed its rows and says so by returning, with the Temporal
side following in the background (``Starts.follow``). What reaches booking code is ours: the
SDK's and the driver's errors become ``Unavailable`` (``booking_notifications.errors``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Self

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.client import Client

from booking_notifications.api.cancels import Cancels
from booking_notifications.api.database import open_checked
from booking_notifications.api.deprecations import people_method
from booking_notifications.api.moves import move
from booking_notifications.api.people import BotUsername, People, bot_username_of
from booking_notifications.api.reader import BookingReader
from booking_notifications.api.requests import BookingRequest, InvalidBooking
from booking_notifications.api.results import CancelResult
from booking_notifications.api.runs import BookingRuns
from booking_notifications.api.schedules import Progress, schedule_all
from booking_notifications.api.starts import CLOSE_GRACE, RECONCILE_AFTER, Starts
from booking_notifications.api.temporal import connect
from booking_notifications.core.clock import Clock, utcnow
from booking_notifications.db.bookings import find_user
from booking_notifications.db.session import Sessions, make_sessions
from booking_notifications.errors import in_our_words
from booking_notifications.settings import Settings
from booking_notifications.workflows.types import BookingReport


@in_our_words
class BookingNotifier(BookingReader):
    """Booking code's handle on the notice system; open it once and share it.

    Bookings are its own methods (the reads are ``BookingReader``'s); the people they notify
    (connect links, mutes, confirmations) are ``notifier.people``, a ``People`` built on the same
    sessions, runs and clock. Every public call raises ``Unavailable`` (``TemporalUnavailable``,
    ``DatabaseUnavailable``) rather than the SDK's or the driver's errors when a dependency is down.
    """

    people: People

    def __init__(
        self,
        client: Client,
        sessions: Sessions,
        task_queue: str,
        *,
        id_prefix: str = "booking-",
        retry_for: timedelta = timedelta(minutes=5),
        engine: AsyncEngine | None = None,
        clock: Clock = utcnow,
        bot_username: BotUsername | None = None,
    ) -> None:
        """Build a notifier on a Temporal client and our database; ``from_settings`` does it from
        the settings.

        Args:
            client: a connected Temporal client.
            sessions: sessions on a database migrated to our head revision.
            task_queue: the task queue the booking workflows run on (the worker's).
            id_prefix: workflow ids are ``<id_prefix><booking id>``: one prefix per deployment
                sharing a namespace.
            retry_for: how long past a notice's latest moment a failing send is retried.
            engine: disposed by ``close`` when given (the notifier owns it).
            clock: decides what "in the past" means for a new booking and when it is planned.
            bot_username: a name, or a coroutine function that asks Telegram, for the bot in
                connect links; None without a bot (``people.link`` then raises).
        """
        super().__init__(sessions, BookingRuns(client, task_queue, id_prefix, retry_for), clock)
        self._engine = engine
        self._clock = clock
        self._starts = Starts(self._runs, sessions, clock)
        self._cancels = Cancels(self._runs, self._starts, sessions, clock)
        self._move = functools.partial(move, self._runs, self._starts, sessions, clock)
        self.people = People(sessions, self._runs, self._starts, clock, bot_username)

    if not TYPE_CHECKING:  # typed code gets the new path from the type checker
        __getattr__ = people_method

    @classmethod
    async def from_settings(
        cls, settings: Settings, client: Client | None = None
    ) -> BookingNotifier:
        """Connect to the database (and Temporal, unless given a client) the settings name.

        Args:
            settings: the process's settings (``load_settings()``).
            client: a Temporal client to use instead of connecting to ``TEMPORAL_ADDRESS``.

        Returns:
            An open notifier that owns its database engine: close it, or use ``async with``.

        Raises:
            SchemaMismatch: the database lacks our migrations (``booking-notify migrate``).
            DatabaseUnavailable: the database cannot be reached.
            TemporalUnavailable: Temporal cannot be reached (a live notifier rides through an
                outage; a process that starts during one is told at once).
        """
        engine = await open_checked(settings.db_url)
        client = client or await connect(settings)
        return cls(
            client,
            make_sessions(engine),
            settings.task_queue,
            id_prefix=settings.workflow_id_prefix,
            retry_for=settings.delivery_retry_for,
            engine=engine,
            bot_username=bot_username_of(settings),
        )

    async def flush(self) -> None:
        """Wait until what was accepted has reached Temporal: the workflows of bookings
        committed in your own session, and the starts and cancels that waited for Temporal."""
        await self._starts.drain()

    async def close(self) -> None:
        """Let the follow-ups under way finish (for at most a few seconds: what still waits for
        Temporal then is left to ``reconcile``), then release the database."""
        await self._starts.drain(within=CLOSE_GRACE)
        if self._engine is not None:
            await self._engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def schedule(
        self, request: BookingRequest, *, session: AsyncSession | None = None
    ) -> int:
        """Schedule a booking's notices. Idempotent per ``ref``.

        Once this returns, the booking is accepted: its rows are committed, and its workflow is
        started, or (Temporal unreachable) will be, by this process in the background and else
        by ``reconcile``. ``status(id).started`` tells which.

        Args:
            request: the booking; checked before anything is written.
            session: booking code's own session on this database: the rows are written in its
                transaction, and the workflow starts after it commits; a rollback leaves nothing.

        Returns:
            The booking's id.

        Raises:
            InvalidBooking: the request is refused; nothing was written.
            DatabaseUnavailable: the rows could not be written; nothing was.
            WorkflowIdTaken: the id names another booking's run; nothing was scheduled.
        """
        return (await self.schedule_many([request], session=session))[0]

    async def schedule_many(
        self,
        requests: Sequence[BookingRequest],
        *,
        session: AsyncSession | None = None,
        progress: Progress | None = None,
    ) -> list[int]:
        """Schedule many bookings, all or nothing: every one is checked, then all are written in
        one transaction, then their workflows start (as ``schedule`` says, in the background
        while Temporal is unreachable).

        Args:
            progress: called as ``progress(stage, done, total)`` when the requests are checked,
                written and as each workflow starts (``checked``, ``written``, ``started``).

        Returns:
            The bookings' ids, in the order of ``requests``.

        Raises:
            InvalidBooking: a request is refused (its number is named); nothing was written.
            DatabaseUnavailable: the rows could not be written; nothing was.
            WorkflowIdTaken: an id names another booking's run; the others are scheduled.
        """
        return await schedule_all(
            self._starts, self._sessions, self._clock, requests, session, progress
        )

    async def cancel(
        self,
        booking_id: int,
        reason: str | None = None,
        *,
        by: str | None = None,
        session: AsyncSession | None = None,
    ) -> CancelResult:
        """Cancel a booking, in any state: before its workflow started, while it sleeps, while a
        notice is being sent, while Temporal is unreachable. Its owner gets one cancellation
        notice and nothing after it.

        The cancel is final once its row commits: a reminder being delivered re-reads the row
        and is skipped, and the workflow hears of it at once, or (Temporal unreachable) from
        this process in the background and else from ``reconcile``. Whether the booking is over
        is its workflow's call; when Temporal cannot be asked, and for a booking that never had
        a workflow, its end time decides. A retried call signals the workflow again.

        Args:
            booking_id: the booking.
            reason: told to the owner (one line, at most 256 characters).
            by: who cancelled, when it was not booking code (``"user"``: in Telegram).
            session: booking code's own session: the cancel commits or rolls back with its
                transaction, and the workflow is told after the commit.

        Returns:
            ``CANCELLED`` (truthy) when this call cancelled it, ``ALREADY_CANCELLED``, or
            ``OVER`` when the booking has ended (nothing changed).

        Raises:
            InvalidBooking: a bad reason or ``by``; nothing changed.
            BookingNotFound: no booking has that id.
            DatabaseUnavailable: the cancel could not be recorded; nothing changed.
            WorkflowIdTaken: the id names another booking's run; nothing changed.
        """
        return await self._cancels.cancel(booking_id, reason, by=by, session=session)

    async def reschedule(
        self, booking_id: int, starts_at: datetime, ends_at: datetime
    ) -> BookingReport:
        """Move a booking; its pending notices follow and its owner is told at once.

        A booking whose workflow never started (a crash after its commit) is started first,
        then moved. Moving a booking again to the same times changes nothing more, so a move
        that raised ``TemporalUnavailable`` may always be repeated.

        Returns:
            The plan as the workflow holds it after the move.

        Raises:
            InvalidBooking: the end is not after the start, the start has passed, or the booking
                is cancelled or over ("booking 7 cannot move: ..."); nothing changed.
            BookingNotFound: no booking has that id.
            TemporalUnavailable: Temporal cannot be reached; nothing changed.
            DatabaseUnavailable: the database cannot be reached; nothing changed.
        """
        try:
            return await self._move(booking_id, starts_at, ends_at)
        except InvalidBooking as err:
            raise InvalidBooking(f"booking {booking_id} cannot move: {err}") from None

    async def set_reachable(self, chat_id: int, reachable: bool = True) -> bool:
        """Mark a user reachable again (they unblocked the bot), or not.

        After Telegram refused a chat (blocked, not found), its later notices are SKIPPED
        without calling Telegram until booking code says the user is back.

        Args:
            chat_id: the user's Telegram chat.
            reachable: False marks them unreachable by hand.

        Returns:
            False when no user has that chat; True otherwise.
        """
        async with self._sessions() as session:
            user = await find_user(session, chat_id=chat_id)
            if user is None:
                return False
            user.reachable = reachable
            await session.commit()
        return True

    async def reconcile(self, older_than: timedelta = RECONCILE_AFTER) -> list[int]:
        """Start what a crash kept from starting, and resend cancels their workflow never heard.

        Args:
            older_than: only bookings committed at least this long ago are touched (younger
                work belongs to a call still under way).

        Returns:
            The ids of the bookings it acted on.

        Raises:
            WorkflowIdTaken: a booking's workflow id is another booking's; it is named, and left
                alone, after everything else is done.
        """
        return await self._starts.reconcile(older_than)
