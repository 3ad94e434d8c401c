"""What a delivery writes: its outcome on the row with the outcome's event, a user Telegram
refused, a user whose group became a supergroup.

Each write is one transaction with the event it reports (``db.events``): a row says SENT exactly
when a ``notice.sent`` exists for it.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking_notifications.core.clock import Clock
from booking_notifications.core.domain import NoticeKind, NoticeStatus
from booking_notifications.db.bookings import find_user
from booking_notifications.db.events import EventType, notice_event
from booking_notifications.db.models import Booking, Notification, User
from booking_notifications.db.session import Sessions
from booking_notifications.observe.metrics import DeliveryMetrics
from booking_notifications.workflows.types import DeliveryRequest

OUTCOME_EVENTS = {
    NoticeStatus.SENT: EventType.NOTICE_SENT,
    NoticeStatus.FAILED: EventType.NOTICE_FAILED,
    NoticeStatus.SKIPPED: EventType.NOTICE_SKIPPED,
}

log = logging.getLogger(__name__)


class Outcomes:
    """The delivery's writes, on the worker's sessions and clock."""

    def __init__(self, sessions: Sessions, clock: Clock, metrics: DeliveryMetrics) -> None:
        self._sessions = sessions
        self._clock = clock
        self._metrics = metrics

    def event(
        self,
        session: AsyncSession,
        status: NoticeStatus,
        booking_id: int,
        key: str,
        kind: NoticeKind,
        reason: str | None = None,
    ) -> None:
        """Note the event of a notice that became ``status`` (none for the others)."""
        if status in OUTCOME_EVENTS:
            type, at = OUTCOME_EVENTS[status], self._clock()
            notice_event(
                session, type, at=at, booking_id=booking_id, key=key, kind=kind, reason=reason
            )

    async def record(
        self,
        request: DeliveryRequest,
        status: NoticeStatus,
        error: str | None,
        message_id: int | None = None,
        *,
        unreachable: bool = False,
    ) -> None:
        """Write a delivery's result; an unreachable chat marks its user, so later notices skip.

        Plain UPDATEs, no reads: this runs once or twice per notice on the hot path.
        """
        values: dict[str, object] = {"status": status, "last_error": error}
        if message_id is not None:
            values |= {"telegram_message_id": message_id, "sent_at": self._clock()}
        async with self._sessions() as session:
            await session.execute(
                update(Notification)
                .where(Notification.booking_id == request.booking_id)
                .where(Notification.key == request.key)
                .values(**values)
            )
            self.event(session, status, request.booking_id, request.key, request.kind, error)
            if unreachable:
                owner = select(Booking.user_id).where(Booking.id == request.booking_id)
                await session.execute(
                    update(User).where(User.id == owner.scalar_subquery()).values(reachable=False)
                )
                notice_event(
                    session,
                    EventType.USER_UNREACHABLE,
                    at=self._clock(),
                    booking_id=request.booking_id,
                    key=request.key,
                    kind=request.kind,
                    reason=error,
                )
            await session.commit()
        if unreachable:
            self._metrics.user_unreachable()

    async def follow(self, booking_id: int, chat_id: int) -> None:
        """The booking's user now lives at ``chat_id``: later notices go straight there.

        Chat ids are unique. When another user row already has the new chat (booking code
        scheduled for the supergroup, or for the old group again after a move), that row wins:
        this user's bookings move to it, and this row keeps the old chat id, so no row is
        deleted (a booking being scheduled for it meanwhile is not lost with it). A race with a
        row being created for the new chat fails this attempt; the retry finds that row.
        """
        async with self._sessions() as session:
            user = await session.scalar(
                select(User).join(User.bookings).where(Booking.id == booking_id)
            )
            holder = await find_user(session, chat_id=chat_id)
            if user is None or holder is user:
                return
            if holder is None:
                user.chat_id = chat_id
            else:
                await session.execute(
                    update(Booking).where(Booking.user_id == user.id).values(user_id=holder.id)
                )
            await session.commit()
        log.info("user %s: their group became a supergroup; notices go there now", user.id)
