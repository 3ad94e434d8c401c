"""Booking requests for tests, relative to a moment: no worker or database imported here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from booking_notifications.api.requests import BookingRequest

NOW = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
"""A fixed moment for tests that plan or validate without a clock."""
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
PLAN = ("reminder_24h", "reminder_1h", "start", "end")
"""The notices of a booking with the default reminders, in due order."""


def booking(
    start_in: timedelta,
    length: timedelta = timedelta(hours=1),
    *,
    now: datetime | None = None,
    chat_id: object = 4242,
    **fields: object,
) -> BookingRequest:
    """A booking request starting ``start_in`` from ``now`` (the test server's clock, say; the
    wall clock by default). ``chat_id`` may be anything, for tests of what validation refuses."""
    start = (now or datetime.now(UTC)) + start_in
    return BookingRequest(chat_id=chat_id, starts_at=start, ends_at=start + length, **fields)  # type: ignore[arg-type]
