"""The booking rows that booking code's calls write, and the workflow input made from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from booking_notifications.db.models import Booking, User
from booking_notifications.db.session import Sessions
from booking_notifications.quiet import QuietHours
from booking_notifications.requests import BookingRequest, InvalidBooking
from booking_notifications.workflows.types import BookingInput, QuietWindow


async def save_booking(sessions: Sessions, request: BookingRequest) -> Booking:
    """Create or reuse the user and booking rows in one transaction."""
    reminders = ",".join(str(int(r.total_seconds())) for r in request.reminders)
    async with sessions() as session:
        user = await session.scalar(select(User).where(User.chat_id == request.chat_id))
        if user is None:
            user = User(chat_id=request.chat_id)
            session.add(user)
        if request.time_zone:
            user.time_zone = request.time_zone
        if request.language:
            user.language = request.language
        if request.quiet_hours:
            user.quiet_hours = request.quiet_hours
        booking = None
        if request.ref is not None:
            booking = await session.scalar(
                select(Booking)
                .options(selectinload(Booking.user))
                .where(Booking.ref == request.ref)
            )
        if booking is None:
            booking = Booking(
                ref=request.ref,
                user=user,
                title=request.title,
                starts_at=request.starts_at.astimezone(UTC),
                ends_at=request.ends_at.astimezone(UTC),
                reminders=reminders,
                start_notice=request.start_notice,
                end_notice=request.end_notice,
            )
            session.add(booking)
        elif (booking.starts_at, booking.ends_at) != (request.starts_at, request.ends_at):
            raise InvalidBooking(
                f"booking ref {request.ref!r} is already scheduled for "
                f"{booking.starts_at.isoformat()}–{booking.ends_at.isoformat()}; "
                "reschedule it instead"
            )
        await session.commit()
        return booking


def workflow_input(booking: Booking, retry_for: timedelta) -> BookingInput:
    """What the booking's workflow starts from: ids and times only (the user row must be loaded)."""
    return BookingInput(
        booking_id=booking.id,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        reminders=[int(s) for s in booking.reminders.split(",") if s],
        start_notice=booking.start_notice,
        end_notice=booking.end_notice,
        quiet=quiet_windows(booking.user, booking.starts_at),
        retry_for=int(retry_for.total_seconds()),
    )


def quiet_windows(user: User, until: datetime) -> list[QuietWindow]:
    """The user's quiet hours from now until ``until``, as UTC intervals for the workflow."""
    if not user.quiet_hours:
        return []
    hours = QuietHours.parse(user.quiet_hours)
    return hours.windows(ZoneInfo(user.time_zone), datetime.now(UTC), until)
