"""The read side for booking code and the CLI: bookings and notices as the rows have them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from booking_notifications.db.bookings import find_user
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
    cancelled_by: str | None = None
    """``user`` when its owner cancelled it in Telegram."""
    confirmed_at: datetime | None = None
    """When its owner tapped "I'll be there"."""
    user_ref: str | None = None
    connected: bool = True
    """Whether its user has a Telegram chat yet (a user known by ``user_ref`` may not)."""
    started: bool = True
    """Whether its workflow has started: False for a booking accepted while Temporal was
    unreachable (it starts in the background, or by ``reconcile``, once Temporal answers)."""


async def get_booking(session: AsyncSession, booking_id: int) -> Booking:
    """The booking with its user; ``BookingNotFound`` when there is no such booking."""
    booking = await session.get(Booking, booking_id, options=[selectinload(Booking.user)])
    if booking is None:
        raise BookingNotFound(f"no booking {booking_id}")
    return booking


async def booking_view(sessions: Sessions, booking_id: int) -> BookingView:
    """The booking and its notices; ``BookingNotFound`` when there is no such booking."""
    async with sessions() as session:
        booking = await get_booking(session, booking_id)
        rows = await session.scalars(
            select(Notification)
            .where(Notification.booking_id == booking_id)
            .order_by(Notification.due_at, Notification.id)
        )
        notices = [NoticeView.of(row) for row in rows]
    return BookingView(
        booking.id,
        booking.ref,
        booking.starts_at,
        booking.ends_at,
        booking.cancelled_at,
        notices,
        cancelled_by=booking.cancelled_by,
        confirmed_at=booking.confirmed_at,
        user_ref=booking.user.ref,
        connected=booking.user.chat_id is not None,
        started=booking.scheduled_at is not None,
    )


async def list_notices(
    sessions: Sessions,
    *,
    chat_id: int | None = None,
    user_ref: str | None = None,
    status: NoticeStatus | None = None,
    due_from: datetime | None = None,
    due_until: datetime | None = None,
    limit: int = LIST_LIMIT,
) -> list[NoticeView]:
    """Notices in due order, filtered by the user (chat or key), by status and by a due window."""
    query = select(Notification).order_by(Notification.due_at, Notification.id).limit(limit)
    if chat_id is not None or user_ref is not None:
        query = query.join(Booking, Booking.id == Notification.booking_id).join(
            User, User.id == Booking.user_id
        )
    if chat_id is not None:
        query = query.where(User.chat_id == chat_id)
    if user_ref is not None:
        query = query.where(User.ref == user_ref)
    if status is not None:
        query = query.where(Notification.status == status)
    if due_from is not None:
        query = query.where(Notification.due_at >= due_from)
    if due_until is not None:
        query = query.where(Notification.due_at < due_until)
    async with sessions() as session:
        return [NoticeView.of(row) for row in await session.scalars(query)]


@dataclass(frozen=True)
class BookingCard:
    """What the bot needs to answer a tap on a booking's button: no notice rows."""

    booking_id: int
    title: str | None
    starts_at: datetime
    ends_at: datetime
    cancelled: bool
    confirmed: bool
    chat_id: int | None
    owner_id: int | None
    """The Telegram user who may act on it: who connected, or the chat itself (a private chat's
    id is its user's)."""
    time_zone: str
    language: str


async def booking_card(sessions: Sessions, booking_id: int) -> BookingCard | None:
    async with sessions() as session:
        try:
            booking = await get_booking(session, booking_id)
        except BookingNotFound:
            return None
        user = booking.user
        return BookingCard(
            booking.id,
            booking.title,
            booking.starts_at,
            booking.ends_at,
            booking.cancelled_at is not None,
            booking.confirmed_at is not None,
            user.chat_id,
            _owner_id(user),
            user.time_zone,
            user.language,
        )


@dataclass(frozen=True)
class ChatUser:
    """The user a Telegram chat belongs to, as the bot needs them."""

    user_id: int
    owner_id: int | None
    language: str
    muted: str


async def chat_user(sessions: Sessions, chat_id: int) -> ChatUser | None:
    async with sessions() as session:
        user = await find_user(session, chat_id=chat_id)
        if user is None:
            return None
        return ChatUser(user.id, _owner_id(user), user.language, user.muted)


def _owner_id(user: User) -> int | None:
    """The Telegram user whose taps count as the owner's: in a private chat, the chat id."""
    return user.telegram_user_id or user.chat_id
