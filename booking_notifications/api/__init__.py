"""The async API for booking code: schedule, move, cancel and read the notices of bookings.

    async with await BookingNotifier.from_settings(load_settings()) as notifier:
        booking_id = await notifier.schedule(BookingRequest(chat_id=42, starts_at=..., ends_at=...))
        await notifier.cancel(booking_id, reason="room closed")
        print(await notifier.status(booking_id))

One object, opened once per process and shared: ``notifier.py`` holds bookings (schedule,
reschedule, cancel, status, lists, reconcile), ``people.py`` the people they notify (connect
links, what they mute, confirmations), ``results.py`` what a call did.
"""

from booking_notifications.api.notifier import BookingNotifier
from booking_notifications.api.people import ConfirmResult
from booking_notifications.api.results import CancelResult
from booking_notifications.errors import DatabaseUnavailable, TemporalUnavailable, Unavailable
from booking_notifications.preferences import Topic
from booking_notifications.requests import BookingRequest, InvalidBooking
from booking_notifications.runs import WorkflowIdTaken
from booking_notifications.users import Connected, LinkRefused
from booking_notifications.views import BookingNotFound, BookingView, NoticeView

__all__ = [
    "BookingNotFound",
    "BookingNotifier",
    "BookingRequest",
    "BookingView",
    "CancelResult",
    "ConfirmResult",
    "Connected",
    "DatabaseUnavailable",
    "InvalidBooking",
    "LinkRefused",
    "NoticeView",
    "TemporalUnavailable",
    "Topic",
    "Unavailable",
    "WorkflowIdTaken",
]
