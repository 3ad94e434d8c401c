"""The async API for booking code: schedule, cancel and read the notices of a booking.

    async with BookingNotifier.from_settings(load_settings()) as notifier:
        booking_id = await notifier.schedule(BookingRequest(chat_id=42, starts_at=..., ends_at=...))
        await notifier.cancel(booking_id, reason="room closed")
        print(await notifier.status(booking_id))

Scheduling writes the user and booking rows, then starts workflow ``booking-<id>``; it is
idempotent per booking ``ref`` and per workflow id, so a retried call starts nothing new.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import selectinload
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from booking_notifications.clock import Clock, utcnow
from booking_notifications.db.bookings import quiet_windows, save_booking, workflow_input
from booking_notifications.db.models import Booking, User
from booking_notifications.db.session import Sessions, make_engine, make_sessions
from booking_notifications.requests import BookingRequest, InvalidBooking
from booking_notifications.settings import Settings
from booking_notifications.temporal import connect
from booking_notifications.views import (
    LIST_LIMIT,
    BookingNotFound,
    BookingView,
    NoticeView,
    booking_view,
    list_notices,
)
from booking_notifications.workflows.booking import BookingNotifications
from booking_notifications.workflows.search import BOOKING_ID, BOOKING_STARTS_AT
from booking_notifications.workflows.types import (
    BookingReport,
    NoticeStatus,
    RescheduleRequest,
)

__all__ = [
    "BookingNotFound",
    "BookingNotifier",
    "BookingRequest",
    "BookingView",
    "InvalidBooking",
    "NoticeView",
]

SCHEDULE_CONCURRENCY = 16
RECONCILE_AFTER = timedelta(minutes=1)
CANCEL_REASON_MAX = 512


def static_summary(booking_id: int, starts_at: datetime) -> str:
    """What the Temporal UI shows for a run: ids and times only, never the title."""
    return f"Booking {booking_id} · {starts_at.astimezone(UTC):%d %b %H:%M} UTC"


class BookingNotifier:
    """Booking code's handle on the notice system; open it once and share it."""

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
    ) -> None:
        """``clock`` decides what "in the past" means for a new booking and when it is planned."""
        self._client = client
        self._sessions = sessions
        self._task_queue = task_queue
        self._id_prefix = id_prefix
        self._retry_for = retry_for
        self._engine = engine
        self._clock = clock

    @classmethod
    async def from_settings(cls, settings: Settings) -> BookingNotifier:
        """Connect to Temporal and the database named by the settings."""
        client = await connect(settings)
        engine = make_engine(settings.db_url)
        return cls(
            client,
            make_sessions(engine),
            settings.task_queue,
            id_prefix=settings.workflow_id_prefix,
            retry_for=settings.delivery_retry_for,
            engine=engine,
        )

    async def close(self) -> None:
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

    async def schedule(self, request: BookingRequest) -> int:
        """Schedule a booking's notices; returns its booking id. Idempotent per ``ref``."""
        now = self._clock()
        request.validated(now)
        try:
            booking = await save_booking(self._sessions, request, now)
        except IntegrityError:
            # A concurrent call created the same user (or ref) first; now we find and reuse it.
            booking = await save_booking(self._sessions, request, now)
        await self._start(booking)
        return booking.id

    async def schedule_many(self, requests: Sequence[BookingRequest]) -> list[int]:
        """Schedule many bookings; all are validated first, so a bad one schedules nothing."""
        now = self._clock()
        for number, request in enumerate(requests, start=1):
            try:
                request.validated(now)
            except InvalidBooking as err:
                raise InvalidBooking(f"booking {number}: {err}") from None
        limit = asyncio.Semaphore(SCHEDULE_CONCURRENCY)

        async def one(request: BookingRequest) -> int:
            async with limit:
                return await self.schedule(request)

        return list(await asyncio.gather(*(one(r) for r in requests)))

    async def cancel(self, booking_id: int, reason: str | None = None) -> bool:
        """Cancel a booking: True if this call cancelled it, False if it was cancelled or over.

        Whether the booking is over is the workflow's call (it lives until the booking ends), not
        this process's clock. The row is marked before the signal, so a reminder being delivered
        right now sees the cancel; the workflow then drops what is pending and announces it.
        """
        if reason is not None and len(reason) > CANCEL_REASON_MAX:
            raise InvalidBooking(
                f"cancel reason is {len(reason)} characters; the limit is {CANCEL_REASON_MAX}"
            )
        handle = self._handle(booking_id)
        async with self._sessions() as session:
            booking = await session.get(Booking, booking_id)
            if booking is None:
                raise BookingNotFound(f"no booking {booking_id}")
            if booking.cancelled_at is not None or not await self._running(booking_id):
                return False
            booking.cancelled_at, booking.cancel_reason = datetime.now(UTC), reason
            await session.commit()
            try:
                await handle.signal(BookingNotifications.cancel)
            except RPCError as err:
                if err.status is not RPCStatusCode.NOT_FOUND:
                    raise
                booking.cancelled_at, booking.cancel_reason = None, None  # it ended meanwhile
                await session.commit()
                return False
        return True

    async def reschedule(
        self, booking_id: int, starts_at: datetime, ends_at: datetime
    ) -> BookingReport:
        """Move a booking; its pending notices follow and its owner is told at once.

        Refused with ``InvalidBooking``, changing nothing, when the end is not after the start,
        the start has passed, or the booking is cancelled or over.
        """
        for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
            if value.tzinfo is None or value.utcoffset() is None:
                raise InvalidBooking(f"{name} {value.isoformat()} has no time zone")
        async with self._sessions() as session:
            booking = await session.get(Booking, booking_id, options=[selectinload(Booking.user)])
            if booking is None:
                raise BookingNotFound(f"no booking {booking_id}")
        if booking.cancelled_at is not None:
            raise InvalidBooking(f"booking {booking_id} cannot move: the booking is cancelled")
        move = RescheduleRequest(
            starts_at.astimezone(UTC),
            ends_at.astimezone(UTC),
            quiet_windows(booking.user, starts_at),
        )
        try:
            return await self._handle(booking_id).execute_update(
                BookingNotifications.reschedule, move
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
        status: NoticeStatus | None = None,
        due_from: datetime | None = None,
        due_until: datetime | None = None,
        limit: int = LIST_LIMIT,
    ) -> list[NoticeView]:
        """Notices in due order: a user's (by chat id), by status, due within a window."""
        return await list_notices(
            self._sessions,
            chat_id=chat_id,
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
            user = await session.scalar(select(User).where(User.chat_id == chat_id))
            if user is None:
                return False
            user.reachable = reachable
            await session.commit()
        return True

    async def live_plan(self, booking_id: int) -> BookingReport:
        """The plan as the running workflow holds it (a query), including what the rows lag."""
        return await self._handle(booking_id).query(BookingNotifications.status)

    async def reconcile(self, older_than: timedelta = RECONCILE_AFTER) -> list[int]:
        """Start the workflows of bookings committed but never scheduled; returns their ids.

        A crash between the commit and the start leaves ``scheduled_at`` empty. Bookings younger
        than ``older_than`` are left to the call that is scheduling them right now. Idempotent.
        """
        now = datetime.now(UTC)
        async with self._sessions() as session:
            orphans = list(
                await session.scalars(
                    select(Booking)
                    .options(selectinload(Booking.user))
                    .where(Booking.scheduled_at.is_(None))
                    .where(Booking.cancelled_at.is_(None))
                    .where(Booking.ends_at > now)
                    .where(Booking.created_at < now - older_than)
                    .order_by(Booking.id)
                )
            )
        for booking in orphans:
            await self._start(booking)
        return [b.id for b in orphans]

    def workflow_id(self, booking_id: int) -> str:
        """The id of the booking's workflow: ``booking-<id>`` by default."""
        return f"{self._id_prefix}{booking_id}"

    def _handle(self, booking_id: int) -> WorkflowHandle[BookingNotifications, BookingReport]:
        return self._client.get_workflow_handle_for(
            BookingNotifications.run, self.workflow_id(booking_id)
        )

    async def _running(self, booking_id: int) -> bool:
        """Whether the booking's workflow still runs; one that never started counts as running.

        Reads the raw description: only the status is needed, and decoding every search
        attribute (as ``handle.describe()`` does) fails on the test server once one is unset.
        """
        try:
            description = await self._client.workflow_service.describe_workflow_execution(
                DescribeWorkflowExecutionRequest(
                    namespace=self._client.namespace,
                    execution=WorkflowExecution(workflow_id=self.workflow_id(booking_id)),
                )
            )
        except RPCError as err:
            if err.status is RPCStatusCode.NOT_FOUND:
                return True
            raise
        status = description.workflow_execution_info.status
        return status == WorkflowExecutionStatus.RUNNING.value

    async def _start(self, booking: Booking) -> None:
        """Start the booking's workflow unless one already runs (or ran) under its id."""
        booking_input = workflow_input(booking, self._retry_for)
        with contextlib.suppress(WorkflowAlreadyStartedError):  # started before: reuse it
            await self._client.start_workflow(
                BookingNotifications.run,
                booking_input,
                id=self.workflow_id(booking.id),
                task_queue=self._task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=static_summary(booking.id, booking.starts_at),
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(BOOKING_ID, str(booking.id)),
                        SearchAttributePair(BOOKING_STARTS_AT, booking.starts_at),
                    ]
                ),
            )
        if booking.scheduled_at is None:
            async with self._sessions() as session:
                row = await session.get(Booking, booking.id)
                assert row is not None
                row.scheduled_at = datetime.now(UTC)
                await session.commit()
