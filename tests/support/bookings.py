"""Booking requests for tests, relative to a moment: no worker or database imported here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from booking_notifications.requests import BookingRequest


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
