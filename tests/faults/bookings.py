"""The bookings of the fault tests, in real time: each with one notice, its own chat."""

from __future__ import annotations

from datetime import datetime, timedelta

from booking_notifications.requests import BookingRequest
from tests.support.bookings import booking

LENGTH = timedelta(minutes=30)
"""Long enough that a start notice may run 15 minutes late: outages here are measured in seconds."""


def start_notice_only(start_in: timedelta, *, now: datetime, chat_id: int) -> BookingRequest:
    """A booking starting ``start_in`` after ``now`` whose only notice is the start notice.

    Its tolerance is 15 minutes, so a fault of seconds can delay it but never make it stale: any
    notice not sent is a lost one.
    """
    return booking(start_in, LENGTH, now=now, chat_id=chat_id, reminders=[], end_notice=False)
