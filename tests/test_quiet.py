"""Quiet hours: a reminder that would land in them is sent just before they begin; start, end
and cancellation notices are not held back; local windows follow the zone's DST rules."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from temporalio.testing import WorkflowEnvironment

from booking_notifications.fake_telegram import FakeTelegram
from booking_notifications.quiet import QuietHours
from booking_notifications.requests import InvalidBooking
from booking_notifications.workflows.plan import QUIET_MARGIN, plan_notices
from booking_notifications.workflows.types import BookingInput, NoticeStatus, QuietWindow
from tests.stack import booking, booking_stack, telegram_channel

H = timedelta(hours=1)
BERLIN = ZoneInfo("Europe/Berlin")


def test_quiet_hours_parse_and_print_back() -> None:
    hours = QuietHours.parse(" 22:00 - 08:30 ")
    assert (hours.start, hours.end) == (time(22), time(8, 30))
    assert str(hours) == "22:00-08:30"


@pytest.mark.parametrize("text", ["22-08", "24:00-08:00", "22:00-22:00", "22:00", "evening"])
def test_malformed_quiet_hours_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="quiet hours"):
        QuietHours.parse(text)


def test_a_booking_with_malformed_quiet_hours_is_refused_before_anything_happens() -> None:
    request = booking(5 * H, quiet_hours="10pm-8am")
    with pytest.raises(InvalidBooking, match="22:00-08:00"):
        request.validated(datetime.now(UTC))


def test_a_night_window_spans_midnight_and_follows_the_dst_change() -> None:
    """Berlin leaves summer time in the night of 25 Oct 2026: that night's window is 11 hours."""
    since = datetime(2026, 10, 24, 12, tzinfo=UTC)
    until = datetime(2026, 10, 26, 12, tzinfo=UTC)

    windows = QuietHours.parse("22:00-08:00").windows(BERLIN, since, until)

    assert [(w.starts_at, w.ends_at) for w in windows] == [
        (datetime(2026, 10, 24, 20, tzinfo=UTC), datetime(2026, 10, 25, 7, tzinfo=UTC)),
        (datetime(2026, 10, 25, 21, tzinfo=UTC), datetime(2026, 10, 26, 7, tzinfo=UTC)),
    ]


def test_a_day_window_in_new_york_is_placed_in_utc() -> None:
    since = datetime(2026, 1, 10, tzinfo=UTC)
    windows = QuietHours.parse("12:00-13:00").windows(
        ZoneInfo("America/New_York"), since, since + timedelta(days=1)
    )
    assert (windows[0].starts_at, windows[0].ends_at) == (
        datetime(2026, 1, 10, 17, tzinfo=UTC),
        datetime(2026, 1, 10, 18, tzinfo=UTC),
    )


@given(
    start=st.times(),
    length=st.integers(min_value=1, max_value=23 * 60),
    since=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
)
def test_windows_are_ordered_disjoint_and_cover_the_span(
    start: time, length: int, since: datetime
) -> None:
    begin = datetime.combine(datetime(2026, 1, 1), start)
    end = (begin + timedelta(minutes=length)).time()
    hours = QuietHours(start.replace(second=0, microsecond=0), end.replace(second=0, microsecond=0))
    if hours.start == hours.end:
        return
    until = since + timedelta(days=3)

    windows = hours.windows(BERLIN, since, until)

    assert windows and all(w.starts_at < w.ends_at for w in windows)
    assert all(a.ends_at <= b.starts_at for a, b in pairwise(windows))
    assert all(w.ends_at > since and w.starts_at < until for w in windows)


START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
NIGHT = QuietWindow(datetime(2026, 11, 30, 22, tzinfo=UTC), datetime(2026, 12, 1, 8, tzinfo=UTC))


def test_a_reminder_due_in_quiet_hours_moves_to_just_before_them() -> None:
    booking_input = BookingInput(1, START, START + H, reminders=[2 * 3600], quiet=[NIGHT])

    [reminder, start, _end] = plan_notices(booking_input, START - 24 * H)

    assert reminder.due_at == NIGHT.starts_at - QUIET_MARGIN  # 07:00 → 21:55 the day before
    assert reminder.latest_at == NIGHT.starts_at
    assert reminder.status is NoticeStatus.PENDING
    assert start.due_at == START  # the start notice is not held back


def test_a_reminder_whose_quiet_moment_has_passed_is_skipped_not_sent_in_the_night() -> None:
    booking_input = BookingInput(1, START, START + H, reminders=[2 * 3600], quiet=[NIGHT])

    reminder = plan_notices(booking_input, NIGHT.starts_at + H)[0]

    assert reminder.status is NoticeStatus.SKIPPED


def test_a_reminder_outside_quiet_hours_is_untouched() -> None:
    booking_input = BookingInput(1, START, START + H, reminders=[30 * 60], quiet=[NIGHT])

    reminder = plan_notices(booking_input, START - 24 * H)[0]

    assert reminder.due_at == START - timedelta(minutes=30)


async def test_a_user_with_quiet_hours_gets_the_reminder_before_they_begin(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    now = (await time_env.get_current_time()).astimezone(UTC)
    quiet_from = (now + 6 * H).replace(second=0, microsecond=0)
    quiet_until = quiet_from + 3 * H
    quiet = f"{quiet_from:%H:%M}-{quiet_until:%H:%M}"
    start = quiet_from + 2 * H  # inside quiet hours: the 1 h reminder would land in them
    async with booking_stack(time_env, db_url, task_queue, telegram_channel(telegram)) as s:
        request = booking(start - now, H, now=now, reminders=[H], quiet_hours=quiet)
        booking_id = await s.notifier.schedule(request)
        await s.result(booking_id)
        rows = await s.rows(booking_id)

    assert rows["reminder_1h"].due_at == quiet_from - QUIET_MARGIN
    assert rows["reminder_1h"].status is NoticeStatus.SENT
    assert rows["start"].due_at == start and rows["start"].status is NoticeStatus.SENT
    assert len(telegram.sent) == 3


@pytest.fixture
def backend() -> str:
    return "sqlite"
