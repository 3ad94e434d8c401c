"""A booking request made into rows, and the workflow input made from those rows.

A new booking is written with its planned notice rows in one transaction: the rows exist (and can
be listed) before the workflow starts, and the workflow, planning from the same ``planned_at``,
does not need a first activity to write them. That saves a database round trip and an activity
per booking on the worker, the costliest part of starting many bookings at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from booking_notifications.api.requests import BookingRequest, InvalidBooking
from booking_notifications.core.domain import NoticeStatus, QuietWindow
from booking_notifications.core.limits import MAX_REMINDER, ahead_problem
from booking_notifications.core.quiet import QuietHours
from booking_notifications.db.bookings import find_user, notice_row
from booking_notifications.db.events import EventType, notice_event
from booking_notifications.db.models import Booking, User
from booking_notifications.db.session import Sessions
from booking_notifications.workflows.plan import PLAN_VERSION, QUIET_REACH, plan_notices
from booking_notifications.workflows.types import BookingInput


async def save_booking(sessions: Sessions, request: BookingRequest, now: datetime) -> Booking:
    """``add_booking`` in a transaction of its own, committed."""
    async with sessions() as session:
        booking, _ = await add_booking(session, request, now)
        await session.commit()
        return booking


async def add_booking(
    session: AsyncSession, request: BookingRequest, now: datetime
) -> tuple[Booking, bool]:
    """Create or reuse the user and booking rows, and a new booking's notice rows planned at
    ``now``, in ``session`` (flushed, not committed); True when the booking is new.

    The booking's user is loaded, as ``workflow_input`` needs it. The time zone, language and
    quiet hours given are the user's, not the booking's: the latest call's values apply to all
    their notices still to come (the delivery reads them at send time).
    """
    reminders = [int(r.total_seconds()) for r in request.reminders]
    user = await find_user(session, chat_id=request.chat_id, user_ref=request.user_ref)
    if user is None:
        user = User(chat_id=request.chat_id, ref=request.user_ref)
        session.add(user)
    if request.time_zone:
        user.time_zone = request.time_zone
    if request.language:
        user.language = request.language
    if request.quiet_hours is not None:  # "" clears them
        user.quiet_hours = request.quiet_hours or None
    booking = None
    if request.ref is not None:
        booking = await session.scalar(
            select(Booking).options(selectinload(Booking.user)).where(Booking.ref == request.ref)
        )
    if booking is not None:
        asked = (request.starts_at.astimezone(UTC), request.ends_at.astimezone(UTC))
        if (booking.starts_at, booking.ends_at) != asked:
            raise InvalidBooking(
                f"booking ref {request.ref!r} is already scheduled for "
                f"{booking.starts_at.isoformat()}–{booking.ends_at.isoformat()}; "
                "reschedule it instead"
            )
        await session.flush()
        return booking, False
    booking = Booking(
        ref=request.ref,
        user=user,
        title=request.title,
        url=request.url,
        starts_at=request.starts_at.astimezone(UTC),
        ends_at=request.ends_at.astimezone(UTC),
        reminders=reminders,
        start_notice=request.start_notice,
        end_notice=request.end_notice,
        planned_at=now,
    )
    session.add(booking)
    await session.flush()  # its id names the notice rows
    planning = workflow_input(booking, retry_for=timedelta(0))  # retry_for plans nothing
    for notice in plan_notices(planning, now):
        session.add(notice_row(booking.id, notice))
        if notice.status is NoticeStatus.SKIPPED:
            notice_event(
                session,
                EventType.NOTICE_SKIPPED,
                at=now,
                booking_id=booking.id,
                key=notice.key,
                kind=notice.kind,
                reason=notice.reason,
            )
    await session.flush()
    return booking, True


def workflow_input(booking: Booking, retry_for: timedelta) -> BookingInput:
    """What the booking's workflow starts from: ids and times only (the user row must be loaded).

    Planned by the current rules, with only the quiet windows those rules look at.
    """
    reminders = reminder_offsets(booking)
    return BookingInput(
        booking_id=booking.id,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        reminders=reminders,
        start_notice=booking.start_notice,
        end_notice=booking.end_notice,
        quiet=quiet_windows(
            booking.user, booking.starts_at, since=booking.planned_at, reminders=reminders
        ),
        retry_for=int(retry_for.total_seconds()),
        planned_at=booking.planned_at,
        plan_version=PLAN_VERSION,
    )


def reminder_offsets(booking: Booking) -> list[int]:
    """The booking's reminder offsets in seconds, as scheduled."""
    return list(booking.reminders)


def quiet_windows(
    user: User,
    until: datetime,
    since: datetime | None = None,
    reminders: Sequence[int] | None = None,
) -> list[QuietWindow]:
    """The user's quiet hours between ``since`` (default now) and ``until`` (a booking's start) as
    UTC intervals: only those within the planner's reach of a reminder (offsets in seconds; of any
    reminder the API accepts when not given), not one a day until the start.

    ``InvalidBooking`` when ``until`` is too far ahead to plan, so a move to year 9999 is refused
    here, before it reaches the workflow.
    """
    since = since or datetime.now(UTC)
    problem = ahead_problem("starts_at", until, since)
    if problem is not None:
        raise InvalidBooking(problem)
    since, until = since.astimezone(UTC), until.astimezone(UTC)  # instants, not readings
    if not user.quiet_hours:
        return []
    hours = QuietHours.parse(user.quiet_hours)
    zone = ZoneInfo(user.time_zone)
    if reminders is None:
        return hours.windows(zone, max(since, until - MAX_REMINDER - QUIET_REACH), until)
    due = [until - timedelta(seconds=offset) for offset in reminders]
    return hours.windows_near(zone, due, QUIET_REACH, since, until)


async def add_all(
    session: AsyncSession, requests: Sequence[BookingRequest], now: datetime
) -> list[tuple[Booking, bool]]:
    """``add_booking`` for each request, in order; a refused one is named by its number."""
    added = []
    for number, request in enumerate(requests, start=1):
        try:
            added.append(await add_booking(session, request, now))
        except InvalidBooking as err:
            raise InvalidBooking(numbered(number, len(requests), err)) from None
    return added


def numbered(number: int, count: int, err: InvalidBooking) -> str:
    """A refusal's words, naming the request's number when there are several."""
    return f"booking {number}: {err}" if count > 1 else str(err)


def check_session(session: object) -> None:
    """Booking code's session must be a SQLAlchemy ``AsyncSession`` on our database."""
    if not isinstance(session, AsyncSession):
        raise InvalidBooking(
            f"session must be a SQLAlchemy AsyncSession, not {type(session).__name__}"
        )
