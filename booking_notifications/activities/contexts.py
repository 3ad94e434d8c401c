"""What a message about a booking may mention, read from its rows when it is sent or edited
(never from workflow history: titles and time zones are personal)."""

from __future__ import annotations

from datetime import datetime

from booking_notifications.db.models import Booking
from booking_notifications.texts.messages import MessageContext, language_of


def message_context(
    booking: Booking,
    *,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    cancel_reason: str | None = None,
) -> MessageContext:
    """The booking (its user loaded) as a message shows it: its own times unless others are
    given (an edit shows the times its message showed)."""
    user = booking.user
    starts_at, ends_at = starts_at or booking.starts_at, ends_at or booking.ends_at
    language = language_of(user.language)
    return MessageContext(
        booking.id, booking.title, starts_at, ends_at, user.time_zone, language, cancel_reason
    )
