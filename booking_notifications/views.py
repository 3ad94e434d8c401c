"""The read side for booking code and the CLI: bookings and notices as the rows have them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from booking_notifications.db.models import Booking, Notification, User
from booking_notifications.db.session import Sessions
from booking_notifications.workflows.types import NoticeKind, NoticeStatus

LIST_LIMIT = 1000


class BookingNotFound(LookupError):
    """No booking has that id."""


@dataclass(frozen=True)
class NoticeView:
    """One notice row."""

    booking_id: int
    key: str
    kind: NoticeKind
    due_at: datetime
    status: NoticeStatus
    attempts: int
    last_error: str | None
    sent_at: datetime | None

    @classmethod
    def of(cls, row: Notification) -> NoticeView:
        return cls(
            row.booking_id,
            row.key,
            row.kind,
            row.due_at,
            row.status,
            row.attempts,
            row.last_error,
            row.sent_at,
        )


@dataclass(frozen=True)
class BookingView:
    """A booking and its notice rows, in due order."""

    booking_id: int
    ref: str | None
    starts_at: datetime
    ends_at: datetime
    cancelled_at: datetime | None
    notices: list[NoticeView]


async def booking_view(sessions: Sessions, booking_id: int) -> BookingView:
    """The booking and its notices; ``BookingNotFound`` when there is no such booking."""
    async with sessions() as session:
        booking = await session.get(Booking, booking_id)
        if booking is None:
            raise BookingNotFound(f"no booking {booking_id}")
        rows = await session.scalars(
            select(Notification)
            .where(Notification.booking_id == booking_id)
            .order_by(Notification.due_at, Notification.id)
        )
        notices = [NoticeView.of(row) for row in rows]
    return BookingView(
        booking.id, booking.ref, booking.starts_at, booking.ends_at, booking.cancelled_at, notices
    )


async def list_notices(
    sessions: Sessions,
    *,
    chat_id: int | None = None,
    status: NoticeStatus | None = None,
    due_from: datetime | None = None,
    due_until: datetime | None = None,
    limit: int = LIST_LIMIT,
) -> list[NoticeView]:
    """Notices in due order, filtered by the user's chat, by status and by a due window."""
    query = select(Notification).order_by(Notification.due_at, Notification.id).limit(limit)
    if chat_id is not None:
        query = (
            query.join(Booking, Booking.id == Notification.booking_id)
            .join(User, User.id == Booking.user_id)
            .where(User.chat_id == chat_id)
        )
    if status is not None:
        query = query.where(Notification.status == status)
    if due_from is not None:
        query = query.where(Notification.due_at >= due_from)
    if due_until is not None:
        query = query.where(Notification.due_at < due_until)
    async with sessions() as session:
        return [NoticeView.of(row) for row in await session.scalars(query)]
