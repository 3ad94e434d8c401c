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

from collections.abc import Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Self

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from booking_notifications.api.people import BotUsername, People, bot_username_of
from booking_notifications.api.results import CancelResult
from booking_notifications.clock import Clock, utcnow
from booking_notifications.db.bookings import (
    add_booking,
    find_user,
    quiet_windows,
    reminder_offsets,
)
from booking_notifications.db.migrate import check_schema
from booking_notifications.db.models import CANCELLED_BY_MAX, Booking
from booking_notifications.db.session import Sessions, location, make_engine, make_sessions
from booking_notifications.errors import in_our_words, is_transient
from booking_notifications.requests import (
    BookingRequest,
    InvalidBooking,
    check_cancel_reason,
    check_times,
)
from booking_notifications.runs import ASK_ONCE, BookingRuns, RunState
from booking_notifications.settings import Settings
from booking_notifications.starts import CLOSE_GRACE, RECONCILE_AFTER, Starts
from booking_notifications.temporal import connect
from booking_notifications.views import (
    LIST_LIMIT,
    BookingView,
    NoticeView,
    booking_view,
    get_booking,
    list_notices,
)
from booking_notifications.workflows.booking import BookingWorkflow
from booking_notifications.workflows.types import (
    BookingReport,
    NoticeStatus,
    RescheduleRequest,
)


@in_our_words
class BookingNotifier(People):
    """Booking code's handle on the notice system; open it once and share it.

    Every public call raises ``Unavailable`` (``TemporalUnavailable``, ``DatabaseUnavailable``)
    rather than the SDK's or the driver's errors when a dependency is down.
    """

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
        """``clock`` decides what "in the past" means for a new booking and when it is planned;
        ``bot_username`` (a name, or a coroutine function that asks Telegram) names the bot in
        connect links."""
        self._bot_username = bot_username
        self._sessions = sessions
        self._client = client
        self._runs = BookingRuns(client, task_queue, id_prefix, retry_for)
        self._engine = engine
        self._clock = clock
        self._starts = Starts(self._runs, sessions, clock)

    @classmethod
    async def from_settings(
        cls, settings: Settings, client: Client | None = None
    ) -> BookingNotifier:
        """Connect to the database (and Temporal, unless given a client) the settings name.

        ``SchemaMismatch`` when the database lacks our migrations (``booking-notify migrate``)."""
        engine = make_engine(settings.db_url)
        try:
            await check_schema(engine)
        except BaseException:
            await engine.dispose()
            raise
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

    @property
    def temporal_address(self) -> str:
        """The Temporal frontend this notifier talks to, as messages name it."""
        return self._client.service_client.config.target_host

    @property
    def database_location(self) -> str:
        """The database server (host:port) or file, as messages name it; never a password."""
        engine = self._sessions.kw.get("bind")
        return location(engine.url) if engine is not None else "the configured database"

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

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
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
        self, requests: Sequence[BookingRequest], *, session: AsyncSession | None = None
    ) -> list[int]:
        """Schedule many bookings, all or nothing: every one is checked, then all are written in
        one transaction, then their workflows start (as ``schedule`` says, in the background
        while Temporal is unreachable).

        Returns:
            The bookings' ids, in the order of ``requests``.

        Raises:
            InvalidBooking: a request is refused (its number is named); nothing was written.
            DatabaseUnavailable: the rows could not be written; nothing was.
            WorkflowIdTaken: an id names another booking's run; the others are scheduled.
        """
        now = self._clock()
        checked = []
        for number, request in enumerate(requests, start=1):
            try:
                checked.append(request.validated(now))
            except InvalidBooking as err:
                raise InvalidBooking(_numbered(number, len(requests), err)) from None
        if session is not None:
            _check_session(session)
            added = await _add_all(session, checked, now)
            self._starts.after_commit(session, [booking.id for booking, _ in added])
            return [booking.id for booking, _ in added]
        try:
            added = await self._write(checked, now)
        except IntegrityError:
            # A concurrent call created the same user (or ref) first; now we find and reuse it.
            added = await self._write(checked, now)
        await self._starts.start_all(added)
        return [booking.id for booking, _ in added]

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
        reason = check_cancel_reason(reason)
        if by is not None and not (0 < len(by) <= CANCELLED_BY_MAX and by.isidentifier()):
            raise InvalidBooking(f"by must be a short word such as 'user', not {by!r}")
        if session is not None:
            _check_session(session)
            booking, result = await self._mark_cancelled(session, booking_id, reason, by)
            if result is not CancelResult.OVER:
                self._starts.after_commit(session, [booking_id])
            return result
        async with self._sessions() as own:
            booking, result = await self._mark_cancelled(own, booking_id, reason, by)
            await own.commit()
        if result is CancelResult.OVER:
            return result
        try:
            await self._runs.start(booking, cancel=True)
        except WorkflowAlreadyStartedError:  # it ended meanwhile: nothing to cancel
            if result is CancelResult.CANCELLED:
                await self._uncancel(booking_id)
                return CancelResult.OVER
            return result
        except Exception as err:
            if not is_transient(err):
                raise
            self._starts.follow(self._starts.sync, [booking_id])
            return result
        await self._starts.mark_scheduled([booking])
        return result

    async def reschedule(
        self, booking_id: int, starts_at: datetime, ends_at: datetime
    ) -> BookingReport:
        """Move a booking; its pending notices follow and its owner is told at once.

        Refused with ``InvalidBooking``, changing nothing, when the end is not after the start,
        the start has passed, or the booking is cancelled or over. A booking whose workflow never
        started (a crash after its commit) is started first, then moved.
        """
        try:
            starts_at, ends_at = check_times(starts_at, ends_at, self._clock())
        except InvalidBooking as err:
            raise InvalidBooking(f"booking {booking_id} cannot move: {err}") from None
        async with self._sessions() as session:
            booking = await get_booking(session, booking_id)
        if booking.cancelled_at is not None:
            raise InvalidBooking(f"booking {booking_id} cannot move: the booking is cancelled")
        state = await self._runs.state(booking)
        if state is RunState.NONE and booking.ends_at > self._clock():
            await self._starts.sync_one(booking)
            await self._starts.mark_scheduled([booking])
        elif state is not RunState.RUNNING:
            raise InvalidBooking(f"booking {booking_id} cannot move: the booking is over")
        move = RescheduleRequest(
            starts_at,
            ends_at,
            quiet_windows(
                booking.user, starts_at, since=self._clock(), reminders=reminder_offsets(booking)
            ),
        )
        try:
            return await self._runs.handle(booking_id).execute_update(
                BookingWorkflow.reschedule, move
            )
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
            raise InvalidBooking(f"booking {booking_id} cannot move: {message}") from None
        except RPCError as err:
            if err.status is RPCStatusCode.NOT_FOUND:
                raise InvalidBooking(
                    f"booking {booking_id} cannot move: the booking is over"
                ) from None
            raise

    async def status(self, booking_id: int) -> BookingView:
        """The booking and its notice rows as SQL has them now."""
        return await booking_view(self._sessions, booking_id)

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
        """Notices in due order: a user's (by chat id or user_ref), by status, due in a window."""
        return await list_notices(
            self._sessions,
            chat_id=chat_id,
            user_ref=user_ref,
            status=status,
            due_from=due_from,
            due_until=due_until,
            limit=limit,
        )

    async def set_reachable(self, chat_id: int, reachable: bool = True) -> bool:
        """Mark a user reachable again (they unblocked the bot); False when no such user.

        After Telegram refused a chat (blocked, not found), its later notices are SKIPPED
        without calling Telegram until booking code says the user is back.
        """
        async with self._sessions() as session:
            user = await find_user(session, chat_id=chat_id)
            if user is None:
                return False
            user.reachable = reachable
            await session.commit()
        return True

    async def live_plan(self, booking_id: int) -> BookingReport:
        """The plan as the running workflow holds it (a query), including what the rows lag."""
        async with self._sessions() as session:
            booking = await get_booking(session, booking_id)
        await self._runs.state(booking)  # the run under its id must be this booking's
        return await self._runs.handle(booking_id).query(BookingWorkflow.status)

    async def reconcile(self, older_than: timedelta = RECONCILE_AFTER) -> list[int]:
        """Start what a crash kept from starting; see ``Starts.reconcile``."""
        return await self._starts.reconcile(older_than)

    def workflow_id(self, booking_id: int) -> str:
        """The id of the booking's workflow: ``booking-<id>`` by default."""
        return self._runs.workflow_id(booking_id)

    async def _mark_cancelled(
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

    async def _write(
        self, requests: Sequence[BookingRequest], now: datetime
    ) -> list[tuple[Booking, bool]]:
        async with self._sessions() as session:
            added = await _add_all(session, requests, now)
            await session.commit()
        return added

    async def _uncancel(self, booking_id: int) -> None:
        """Undo the row's cancel: its workflow ended before the cancel could reach it."""
        async with self._sessions() as session:
            await session.execute(
                update(Booking)
                .where(Booking.id == booking_id)
                .values(cancelled_at=None, cancel_reason=None, cancelled_by=None)
            )
            await session.commit()


async def _add_all(
    session: AsyncSession, requests: Sequence[BookingRequest], now: datetime
) -> list[tuple[Booking, bool]]:
    added = []
    for number, request in enumerate(requests, start=1):
        try:
            added.append(await add_booking(session, request, now))
        except InvalidBooking as err:
            raise InvalidBooking(_numbered(number, len(requests), err)) from None
    return added


def _numbered(number: int, count: int, err: InvalidBooking) -> str:
    return f"booking {number}: {err}" if count > 1 else str(err)


def _check_session(session: object) -> None:
    if not isinstance(session, AsyncSession):
        raise InvalidBooking(
            f"session must be a SQLAlchemy AsyncSession, not {type(session).__name__}"
        )
