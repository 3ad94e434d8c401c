"""Why a notice fired by its workflow is not sent now: decided at send time, on SQL's view.

The workflow fires a notice when its timer says so; by then the booking may have been cancelled
or moved, the moment may have passed (a worker away for a while), the user may not have
connected their Telegram yet, blocked the bot, or muted that kind of notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from booking_notifications.core.clock import utc_text
from booking_notifications.core.domain import WAITING_FOR_USER, NoticeKind, NoticeStatus
from booking_notifications.core.topics import parse_topics, topic_of
from booking_notifications.db.models import Booking, Notification, User
from booking_notifications.workflows.types import NOT_CONNECTED, DeliveryRequest

MUTED = "muted by the user"
TOO_LATE = "too late at send time"
UNREACHABLE = "user unreachable: their chat refused an earlier notice (blocked or not found)"


@dataclass(frozen=True)
class Verdict:
    """What becomes of a fired notice now, and why."""

    status: NoticeStatus
    """PROCESSING: send it now. PENDING: hold it until its user connects (the workflow waits
    for them). SKIPPED: do not send it."""
    reason: str | None = None

    @property
    def send(self) -> bool:
        return self.status is NoticeStatus.PROCESSING


SEND = Verdict(NoticeStatus.PROCESSING)


def hold_or_skip(row: Notification, request: DeliveryRequest, now: datetime) -> Verdict:
    """Whether to send, hold or skip a fired notice; ``row.booking.user`` is loaded."""
    booking, user = row.booking, row.booking.user
    reason = _changed(booking, request)
    if reason is None and user.chat_id is None:  # known by booking code's key, not connected
        if now <= request.latest_at:
            return Verdict(NoticeStatus.PENDING, WAITING_FOR_USER)
        return Verdict(NoticeStatus.SKIPPED, NOT_CONNECTED)
    reason = reason or _too_late(request, now) or _unreachable(user) or _muted(user, row)
    return SEND if reason is None else Verdict(NoticeStatus.SKIPPED, reason)


def _changed(booking: Booking, request: DeliveryRequest) -> str | None:
    """Cancelled or moved since the workflow fired the notice."""
    if request.kind is not NoticeKind.CANCEL and booking.cancelled_at is not None:
        return "booking cancelled"
    if booking.starts_at != request.starts_at or booking.ends_at != request.ends_at:
        return "booking moved"
    return None


def _too_late(request: DeliveryRequest, now: datetime) -> str | None:
    if now > request.latest_at:
        return f"{TOO_LATE} (latest {utc_text(request.latest_at)})"
    return None


def _unreachable(user: User) -> str | None:
    """Telegram already refused this chat; calling it again would only fail again."""
    return None if user.reachable else UNREACHABLE


def _muted(user: User, row: Notification) -> str | None:
    """The user asked not to get this kind of notice (/settings, /stop, or booking code)."""
    topic = topic_of(row.kind, row.offset_seconds)
    return MUTED if topic is not None and topic in parse_topics(user.muted) else None
