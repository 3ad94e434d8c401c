"""A booking's workflow input does not grow with its lead time (issue 11, item 6).

Quiet windows used to be sent for every day until the start (3,651 of them, 292 KB, for a booking
ten years ahead), and again with every move. The planner only looks at windows near a reminder's
due time, so only those are sent: the plan is the same, the payload is a few windows.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from temporalio.converter import DataConverter

from booking_notifications.api.bookings import quiet_windows, workflow_input
from booking_notifications.api.requests import InvalidBooking
from booking_notifications.core.limits import MAX_AHEAD, MAX_REMINDER
from booking_notifications.core.quiet import QuietHours
from booking_notifications.db.models import Booking, User
from booking_notifications.workflows.plan import PLAN_VERSION, QUIET_REACH, plan_notices
from booking_notifications.workflows.types import BookingInput, RescheduleRequest
from tests.support.dst import ZONES

NOW = datetime(2026, 1, 15, 10, 17, tzinfo=UTC)
H = timedelta(hours=1)
DAY = timedelta(days=1)
FAST = settings(max_examples=100, deadline=None, database=None)


def payload_bytes(value: object) -> int:
    """The size of ``value`` as Temporal's default converter puts it in the history."""
    payloads = DataConverter.default.payload_converter.to_payloads([value])
    return sum(p.ByteSize() for p in payloads)


def booking_row(
    lead: timedelta,
    reminders: list[int] | None = None,
    quiet_hours: str = "22:00-08:00",
    time_zone: str = "Europe/Berlin",
) -> Booking:
    user = User(chat_id=1, time_zone=time_zone, quiet_hours=quiet_hours)
    return Booking(
        id=1,
        user=user,
        starts_at=NOW + lead,
        ends_at=NOW + lead + H,
        reminders=[86400, 3600] if reminders is None else reminders,
        start_notice=True,
        end_notice=True,
        planned_at=NOW,
    )


@pytest.mark.parametrize("years", [10, 80, 999])
def test_a_booking_years_ahead_carries_as_few_windows_as_one_next_month(years: int) -> None:
    far = workflow_input(booking_row(years * 365 * DAY), retry_for=timedelta(minutes=5))
    near = workflow_input(booking_row(30 * DAY), retry_for=timedelta(minutes=5))

    assert len(far.quiet) == len(near.quiet) <= 6
    assert payload_bytes(far) < 1000
    assert far.plan_version == PLAN_VERSION


def test_a_move_without_the_reminders_carries_the_windows_of_the_longest_reminder_at_most() -> None:
    user = booking_row(DAY).user

    windows = quiet_windows(user, NOW + MAX_AHEAD - H, since=NOW)

    assert len(windows) <= MAX_REMINDER.days + 2 * QUIET_REACH.days + 2
    move = RescheduleRequest(NOW + MAX_AHEAD - H, NOW + MAX_AHEAD, windows)
    assert payload_bytes(move) < 40_000


def test_a_move_with_the_reminders_carries_only_their_windows() -> None:
    user = booking_row(DAY).user

    windows = quiet_windows(user, NOW + MAX_AHEAD - H, since=NOW, reminders=[86400, 3600])

    assert len(windows) <= 6


@FAST
@given(
    zone=st.sampled_from(ZONES),
    start=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    length=st.integers(min_value=1, max_value=23 * 60),
    lead=st.integers(min_value=60, max_value=40 * 86400),
    reminders=st.lists(st.integers(min_value=1, max_value=20 * 86400), max_size=5, unique=True),
    version=st.integers(min_value=1, max_value=PLAN_VERSION),
    planned_late=st.integers(min_value=0, max_value=86400),
)
def test_the_plan_from_the_windows_sent_is_the_plan_from_every_window(
    zone: str,
    start: time,
    length: int,
    lead: int,
    reminders: list[int],
    version: int,
    planned_late: int,
) -> None:
    """Both rules: leaving out the windows far from every reminder changes no notice."""
    end = (datetime.combine(NOW.date(), start) + timedelta(minutes=length)).time()
    hours = QuietHours(start, end)
    row = booking_row(
        timedelta(seconds=lead),
        reminders=reminders,
        quiet_hours=str(hours),
        time_zone=zone,
    )
    sent = workflow_input(row, retry_for=timedelta(0))
    every = hours.windows(ZoneInfo(zone), NOW, row.starts_at)
    assert all(w in every for w in sent.quiet)
    planned_at = min(NOW + timedelta(seconds=planned_late), row.starts_at)

    for booking in (sent, dataclasses.replace(sent, plan_version=version)):
        full = dataclasses.replace(booking, quiet=every)
        assert plan_notices(booking, planned_at) == plan_notices(full, planned_at)


def test_both_inputs_decode_from_histories_recorded_before_the_plan_version() -> None:
    old = DataConverter.default.payload_converter.to_payloads(
        [{"booking_id": 1, "starts_at": NOW.isoformat(), "ends_at": (NOW + H).isoformat()}]
    )

    [decoded] = DataConverter.default.payload_converter.from_payloads(old, [BookingInput])

    assert decoded.plan_version == 1


@pytest.mark.parametrize(
    "starts_at",
    [datetime(9999, 12, 31, 23, tzinfo=UTC), datetime.max.replace(tzinfo=timezone(-H))],
)
def test_a_move_beyond_the_bounds_is_refused_before_it_reaches_the_workflow(
    starts_at: datetime,
) -> None:
    """Its windows were computed first: year 9999 looped over millions of days, then overflowed."""
    user = booking_row(DAY).user

    with pytest.raises(
        InvalidBooking, match=r"^starts_at 9999-12-31T.* is (out of range|more than 1000 years)"
    ):
        quiet_windows(user, starts_at, since=NOW)
