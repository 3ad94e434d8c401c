"""The async API for booking code and what only it uses; imports db, channels, settings, workflows, core.

Schedule, move, cancel and read the notices of bookings:

    async with await BookingNotifier.from_settings(load_settings()) as notifier:
        booking_id = await notifier.schedule(BookingRequest(chat_id=42, starts_at=..., ends_at=...))
        await notifier.cancel(booking_id, reason="room closed")
        print(await notifier.status(booking_id))

One object, opened once per process and shared: ``notifier.py`` holds bookings (schedule,
reschedule, cancel, status, lists, reconcile), ``people.py`` the people they notify (connect
links, what they mute, confirmations), ``results.py`` what a call did. Beside them, what only the
API uses: ``requests`` (validated input), ``bookings`` (a request made into rows), ``runs`` and
``starts`` (one booking's workflow run; starting after the caller's commit), ``users`` and
``links`` (connecting people), ``views`` (read models), ``events`` (the outbox as booking code
reads it) and ``temporal`` (the client connection).
"""

from booking_notifications.api.events import EventView
from booking_notifications.api.notifier import BookingNotifier
from booking_notifications.api.people import ConfirmResult
from booking_notifications.api.requests import BookingRequest, InvalidBooking
from booking_notifications.api.results import CancelResult
from booking_notifications.api.runs import WorkflowIdTaken
from booking_notifications.api.users import Connected, LinkRefused
from booking_notifications.api.views import BookingNotFound, BookingView, NoticeView
from booking_notifications.core.topics import Topic
from booking_notifications.db.events import EventType
from booking_notifications.errors import DatabaseUnavailable, TemporalUnavailable, Unavailable

__all__ = [
    "BookingNotFound",
    "BookingNotifier",
    "BookingRequest",
    "BookingView",
    "CancelResult",
    "ConfirmResult",
    "Connected",
    "DatabaseUnavailable",
    "EventType",
    "EventView",
    "InvalidBooking",
    "LinkRefused",
    "NoticeView",
    "TemporalUnavailable",
    "Topic",
    "Unavailable",
    "WorkflowIdTaken",
]
