"""What ``booking-notify status`` prints for people: the span and the state, read at a glance."""

from __future__ import annotations

from datetime import timedelta

import pytest

from booking_notifications.api.views import BookingView
from booking_notifications.cli.output import print_view
from tests.support.bookings import DAY, HOUR, NOW


def view(starts_in: timedelta, length: timedelta, **fields: object) -> BookingView:
    start = NOW + starts_in
    fields.setdefault("cancelled_at", None)
    return BookingView(1, None, start, start + length, notices=[], **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("booking", "says"),
    [
        (view(DAY, HOUR), "2026-01-16 10:00:00–11:00:00 UTC, upcoming"),
        (view(-HOUR / 2, HOUR), "2026-01-15 09:30:00–10:30:00 UTC, in progress"),
        (view(-2 * HOUR, HOUR), "2026-01-15 08:00:00–09:00:00 UTC, over"),
        (view(DAY, 2 * DAY), "2026-01-16 10:00:00 – 2026-01-18 10:00:00 UTC, upcoming"),
        (
            view(DAY, HOUR, cancelled_at=NOW),
            "2026-01-16 10:00:00–11:00:00 UTC, cancelled 2026-01-15 10:00:00 UTC",
        ),
        (
            view(DAY, HOUR, confirmed_at=NOW - HOUR),
            "2026-01-16 10:00:00–11:00:00 UTC, upcoming, confirmed 2026-01-15 09:00:00 UTC",
        ),
    ],
)
def test_the_first_line_gives_the_span_with_both_dates_when_they_differ_and_the_state(
    booking: BookingView, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    print_view(booking, now=NOW)

    assert capsys.readouterr().out.splitlines()[0] == f"booking 1: {says}"
