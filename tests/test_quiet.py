"""Quiet hours: a reminder that would land in them is sent just before they begin; start, end
and cancellation notices are not held back; local windows follow the zone's DST rules."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from temporalio.testing import WorkflowEnvironment

from booking_notifications.api.requests import InvalidBooking
from booking_notifications.core.domain import NoticeKind, NoticeStatus, QuietWindow
from booking_notifications.core.quiet import QuietHours
from booking_notifications.testing.fake_telegram import FakeTelegram
from booking_notifications.workflows.plan import PLAN_VERSION, QUIET_MARGIN, plan_notices
from booking_notifications.workflows.types import BookingInput, Notice
from tests.support.bookings import booking
from tests.support.dst import instants
from tests.support.stack import booking_stack, telegram_channel

pytestmark = pytest.mark.backends("sqlite")

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


# Quiet windows follow the zone's clocks through DST changes (issue 11, item 5).

FAST = settings(max_examples=150, deadline=None, database=None)
MINUTE = timedelta(minutes=1)


def quiet_reading(hours: QuietHours, reading: time) -> bool:
    """Whether a clock showing ``reading`` is inside the quiet hours, by their text alone."""
    if hours.start < hours.end:
        return hours.start <= reading < hours.end
    return reading >= hours.start or reading < hours.end


def test_a_window_beginning_at_a_skipped_reading_begins_when_the_clocks_jump_past_it() -> None:
    """02:30 is skipped on 29 March 2026 in Berlin: quiet hours begin at 03:00 summer time,
    when the clocks jump (01:00 UTC), not 30 minutes later."""
    day = datetime(2026, 3, 29, tzinfo=UTC)

    [window] = QuietHours.parse("02:30-06:00").windows(BERLIN, day, day + 12 * H)

    assert window.starts_at == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert window.ends_at == datetime(2026, 3, 29, 4, 0, tzinfo=UTC)


def test_a_window_ending_at_a_repeated_reading_ends_when_it_is_read_the_second_time() -> None:
    """02:30 comes twice on 25 October 2026 in Berlin: quiet until 02:30 holds through both."""
    since = datetime(2026, 10, 24, 12, tzinfo=UTC)

    window = QuietHours.parse("22:00-02:30").windows(BERLIN, since, since + 12 * H)[0]

    assert window.starts_at == datetime(2026, 10, 24, 20, 0, tzinfo=UTC)
    assert window.ends_at == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_a_window_whose_every_reading_is_skipped_is_left_out() -> None:
    """Lord Howe's clocks jump from 02:00 to 02:30 on 4 October 2026: 02:05-02:25 never comes."""
    lord_howe = ZoneInfo("Australia/Lord_Howe")
    since = datetime(2026, 10, 3, 12, tzinfo=UTC)

    windows = QuietHours.parse("02:05-02:25").windows(lord_howe, since, since + 12 * H)

    assert windows == []


@st.composite
def quiet_hours_near_a_change(draw: st.DrawFn) -> tuple[ZoneInfo, datetime, QuietHours]:
    """A zone, one of its DST changes, and quiet hours whose start or end (or both) is read
    near that change: skipped, repeated or next to either."""
    zone, change = draw(instants(within=timedelta(0)))
    near = [
        ((change + k * MINUTE).astimezone(zone).time().replace(second=0, microsecond=0))
        for k in (-150, -90, -60, -30, -15, 0, 15, 30, 60, 90, 150)
    ]
    any_time = st.times().map(lambda t: t.replace(second=0, microsecond=0))
    start = draw(st.one_of(st.sampled_from(near), any_time))
    end = draw(st.one_of(st.sampled_from(near), any_time))
    shift = draw(st.integers(min_value=-45, max_value=45)) * MINUTE
    start = (datetime.combine(datetime(2000, 1, 1), start) + shift).time()
    if start == end:
        end = (datetime.combine(datetime(2000, 1, 1), end) + MINUTE).time()
    return zone, change, QuietHours(start, end)


@FAST
@given(quiet_hours_near_a_change())
def test_every_instant_whose_clock_reads_quiet_hours_lies_in_a_window(
    case: tuple[ZoneInfo, datetime, QuietHours],
) -> None:
    zone, change, hours = case
    windows = hours.windows(zone, change - 30 * H, change + 30 * H)

    for k in range(-24 * 60, 24 * 60):
        instant = change + k * MINUTE
        if quiet_reading(hours, instant.astimezone(zone).time()):
            assert any(w.starts_at <= instant < w.ends_at for w in windows), instant


@FAST
@given(quiet_hours_near_a_change())
def test_windows_begin_and_end_where_the_clock_enters_and_leaves_quiet_hours(
    case: tuple[ZoneInfo, datetime, QuietHours],
) -> None:
    """Not late, not early: the first and last minutes of each window read inside quiet hours,
    the minutes just outside it read outside them (or lie in the neighbouring window)."""
    zone, change, hours = case
    windows = hours.windows(zone, change - 30 * H, change + 30 * H)

    def quiet(instant: datetime) -> bool:
        return quiet_reading(hours, instant.astimezone(zone).time())

    def outside(instant: datetime) -> bool:
        covered = any(w.starts_at <= instant < w.ends_at for w in windows)
        return covered or not quiet(instant)

    for window in windows:
        assert window.starts_at < window.ends_at
        assert quiet(window.starts_at) and quiet(window.ends_at - MINUTE)
        assert outside(window.starts_at - MINUTE)
        assert outside(window.ends_at)


# Reminders and quiet hours, rules 2 (plan_version 2, new bookings): a reminder whose slot
# before quiet hours has passed goes out after them, if they end before the start.


def reminder_of(booking_input: BookingInput, now: datetime) -> Notice:
    return next(n for n in plan_notices(booking_input, now) if n.kind is NoticeKind.REMINDER)


def quiet_booking(start: datetime, offset: timedelta, quiet: list[QuietWindow]) -> BookingInput:
    return BookingInput(
        1,
        start,
        start + H,
        reminders=[int(offset.total_seconds())],
        quiet=quiet,
        plan_version=PLAN_VERSION,
    )


def test_new_bookings_plan_by_rules_2_and_old_inputs_by_rules_1() -> None:
    assert PLAN_VERSION == 2
    assert BookingInput(1, START, START + H).plan_version == 1


def test_a_reminder_whose_slot_before_quiet_hours_passed_goes_out_when_they_end() -> None:
    """Planned at 23:00, inside the night: 21:55 has passed, but the night ends at 08:00 and the
    booking starts at 09:00."""
    planned = NIGHT.starts_at + H
    reminder = reminder_of(quiet_booking(START, 2 * H, [NIGHT]), planned)

    assert reminder.status is NoticeStatus.PENDING
    assert reminder.due_at == NIGHT.ends_at
    assert reminder.latest_at == NIGHT.ends_at + timedelta(minutes=30)  # its 2 h tolerance


def test_rules_1_still_skip_it_for_bookings_planned_before_them() -> None:
    old = dataclasses.replace(quiet_booking(START, 2 * H, [NIGHT]), plan_version=1)

    assert reminder_of(old, NIGHT.starts_at + H).status is NoticeStatus.SKIPPED


def test_a_reminder_sent_after_quiet_hours_is_never_sent_after_the_start() -> None:
    start = NIGHT.ends_at + 10 * MINUTE
    reminder = reminder_of(quiet_booking(start, H, [NIGHT]), NIGHT.starts_at + H)

    assert (reminder.due_at, reminder.latest_at) == (NIGHT.ends_at, start)


def test_a_reminder_is_skipped_when_quiet_hours_last_until_the_start() -> None:
    start = NIGHT.ends_at
    reminder = reminder_of(quiet_booking(start, H, [NIGHT]), NIGHT.starts_at + H)

    assert reminder.status is NoticeStatus.SKIPPED


def test_the_slot_before_quiet_hours_is_still_preferred_while_it_is_ahead() -> None:
    reminder = reminder_of(quiet_booking(START, 2 * H, [NIGHT]), START - 24 * H)

    assert (reminder.due_at, reminder.latest_at) == (
        NIGHT.starts_at - QUIET_MARGIN,
        NIGHT.starts_at,
    )


def days_of_quiet(hours: str, since: datetime, days: int) -> list[QuietWindow]:
    return QuietHours.parse(hours).windows(ZoneInfo("UTC"), since, since + days * 24 * H)


def test_quiet_hours_of_all_but_a_minute_leave_the_reminder_that_minute() -> None:
    """00:00-23:59: moving the reminder 5 minutes before a window put it in the previous one."""
    start = datetime(2026, 12, 3, 12, tzinfo=UTC)
    quiet = days_of_quiet("00:00-23:59", start - 3 * 24 * H, 4)

    reminder = reminder_of(quiet_booking(start, 2 * H, quiet), start - 3 * 24 * H)

    assert (reminder.due_at, reminder.latest_at) == (
        datetime(2026, 12, 2, 23, 59, tzinfo=UTC),
        datetime(2026, 12, 3, 0, 0, tzinfo=UTC),
    )
    assert not any(w.starts_at <= reminder.due_at < w.ends_at for w in quiet)


def test_rules_1_keep_moving_it_into_the_previous_window() -> None:
    start = datetime(2026, 12, 3, 12, tzinfo=UTC)
    quiet = days_of_quiet("00:00-23:59", start - 3 * 24 * H, 4)
    old = dataclasses.replace(quiet_booking(start, 2 * H, quiet), plan_version=1)

    assert reminder_of(old, start - 3 * 24 * H).due_at == datetime(2026, 12, 2, 23, 55, tzinfo=UTC)


window_lists = st.lists(
    st.tuples(
        st.integers(min_value=-4 * 86400, max_value=86400),
        st.integers(min_value=60, max_value=30 * 3600),
    ).map(
        lambda w: QuietWindow(
            START + timedelta(seconds=w[0]), START + timedelta(seconds=w[0] + w[1])
        )
    ),
    max_size=6,
).map(lambda ws: sorted(ws, key=lambda w: w.starts_at))
offsets = st.lists(st.integers(min_value=1, max_value=3 * 86400), max_size=6, unique=True)
planning_moments = st.integers(min_value=-4 * 86400, max_value=0).map(
    lambda s: START + timedelta(seconds=s)
)


@FAST
@given(window_lists, offsets, planning_moments)
def test_no_pending_reminder_may_go_out_inside_quiet_hours_or_after_the_start(
    quiet: list[QuietWindow], reminders: list[int], now: datetime
) -> None:
    """Any windows (overlapping, touching, a minute apart), any offsets, any planning moment."""
    booking_input = BookingInput(
        1, START, START + H, reminders=reminders, quiet=quiet, plan_version=PLAN_VERSION
    )

    for notice in plan_notices(booking_input, now):
        if notice.kind is not NoticeKind.REMINDER or notice.status is not NoticeStatus.PENDING:
            continue
        assert notice.due_at <= notice.latest_at <= START
        for window in quiet:
            assert notice.latest_at <= window.starts_at or notice.due_at >= window.ends_at


@FAST
@given(offsets, planning_moments)
def test_without_quiet_hours_both_rules_plan_alike(reminders: list[int], now: datetime) -> None:
    booking_input = BookingInput(1, START, START + H, reminders=reminders)

    assert plan_notices(booking_input, now) == plan_notices(
        dataclasses.replace(booking_input, plan_version=PLAN_VERSION), now
    )
