"""The notice plan: due times, tolerances, and what is skipped as stale at planning and firing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking_notifications.core.domain import NoticeKind, NoticeStatus
from booking_notifications.core.limits import MAX_AHEAD, MAX_REMINDER, times_problem
from booking_notifications.workflows.plan import (
    base_key,
    cancel_notice,
    moved_notice,
    next_pending,
    plan_notices,
    reminder_key,
    replan,
    skip_reason_when_due,
)
from booking_notifications.workflows.types import BookingInput, Notice
from tests.support.bookings import DAY, HOUR, NOW

FAST = settings(max_examples=200, deadline=None, database=None)


def booking_input(
    start_in: timedelta,
    length: timedelta = HOUR,
    *,
    reminders: list[int] | None = None,
    start_notice: bool = True,
    end_notice: bool = True,
) -> BookingInput:
    """A booking starting ``start_in`` after ``NOW``; the default reminders are 24 h and 1 h."""
    return BookingInput(
        booking_id=1,
        starts_at=NOW + start_in,
        ends_at=NOW + start_in + length,
        reminders=[86400, 3600] if reminders is None else reminders,
        start_notice=start_notice,
        end_notice=end_notice,
    )


def by_key(notices: list[Notice]) -> dict[str, Notice]:
    return {n.key: n for n in notices}


def test_a_booking_two_days_ahead_gets_every_notice_pending_in_due_order() -> None:
    plan = plan_notices(booking_input(2 * DAY), NOW)

    assert [n.key for n in plan] == ["reminder_24h", "reminder_1h", "start", "end"]
    assert [n.kind for n in plan] == [
        NoticeKind.REMINDER,
        NoticeKind.REMINDER,
        NoticeKind.START,
        NoticeKind.END,
    ]
    assert all(n.status is NoticeStatus.PENDING and n.reason is None for n in plan)


def test_reminders_are_due_their_offset_before_the_start_and_carry_it() -> None:
    booking = booking_input(2 * DAY)
    notices = by_key(plan_notices(booking, NOW))

    assert notices["reminder_24h"].due_at == booking.starts_at - DAY
    assert notices["reminder_24h"].offset_seconds == 86400
    assert notices["reminder_1h"].due_at == booking.starts_at - HOUR
    assert notices["reminder_1h"].offset_seconds == 3600
    assert notices["start"].due_at == booking.starts_at
    assert notices["start"].offset_seconds is None
    assert notices["end"].due_at == booking.ends_at


def test_a_booking_made_3_hours_ahead_skips_its_24h_reminder_but_keeps_the_1h_one() -> None:
    notices = by_key(plan_notices(booking_input(3 * HOUR), NOW))

    skipped = notices["reminder_24h"]
    assert skipped.status is NoticeStatus.SKIPPED
    assert skipped.reason == (
        "too late when planned at 2026-01-15 10:00:00 UTC: due 2026-01-14 13:00:00 UTC"
    )
    assert notices["reminder_1h"].status is NoticeStatus.PENDING
    assert notices["start"].status is NoticeStatus.PENDING
    assert notices["end"].status is NoticeStatus.PENDING


def test_a_reminder_1_minute_past_due_is_still_pending_within_its_15_minute_tolerance() -> None:
    notices = by_key(plan_notices(booking_input(HOUR - timedelta(minutes=1)), NOW))

    assert notices["reminder_1h"].status is NoticeStatus.PENDING


def test_a_reminder_16_minutes_past_due_is_skipped_past_its_15_minute_tolerance() -> None:
    notices = by_key(plan_notices(booking_input(HOUR - timedelta(minutes=16)), NOW))

    assert notices["reminder_1h"].status is NoticeStatus.SKIPPED


def test_a_notice_planned_exactly_at_its_latest_moment_is_still_pending() -> None:
    at_latest = by_key(plan_notices(booking_input(HOUR - timedelta(minutes=15)), NOW))
    a_second_later = by_key(
        plan_notices(booking_input(HOUR - timedelta(minutes=15, seconds=1)), NOW)
    )

    assert at_latest["reminder_1h"].status is NoticeStatus.PENDING
    assert a_second_later["reminder_1h"].status is NoticeStatus.SKIPPED


@pytest.mark.parametrize(
    ("offset", "tolerance"),
    [
        (DAY, HOUR),
        (8 * HOUR, HOUR),  # a quarter would be 2 h: capped at 1 h
        (4 * HOUR, HOUR),
        (HOUR, timedelta(minutes=15)),
        (timedelta(minutes=2), timedelta(seconds=30)),
        (timedelta(seconds=2), timedelta(milliseconds=500)),
    ],
)
def test_a_reminder_may_run_late_by_a_quarter_of_its_offset_at_most_an_hour(
    offset: timedelta, tolerance: timedelta
) -> None:
    booking = booking_input(2 * DAY, reminders=[int(offset.total_seconds())])
    (reminder,) = (n for n in plan_notices(booking, NOW) if n.kind is NoticeKind.REMINDER)

    assert reminder.latest_at - reminder.due_at == tolerance


def test_the_1h_reminder_latest_moment_never_passes_the_start() -> None:
    booking = booking_input(2 * DAY)
    notices = by_key(plan_notices(booking, NOW))

    assert notices["reminder_1h"].latest_at < booking.starts_at


def test_the_start_notice_may_run_15_minutes_late() -> None:
    booking = booking_input(2 * DAY, length=HOUR)
    notices = by_key(plan_notices(booking, NOW))

    assert notices["start"].latest_at == booking.starts_at + timedelta(minutes=15)


def test_the_start_notice_of_a_10_minute_booking_cannot_be_later_than_the_end() -> None:
    booking = booking_input(2 * DAY, length=timedelta(minutes=10))
    notices = by_key(plan_notices(booking, NOW))

    assert notices["start"].latest_at == booking.ends_at


def test_the_end_notice_may_run_an_hour_late() -> None:
    booking = booking_input(2 * DAY)
    notices = by_key(plan_notices(booking, NOW))

    assert notices["end"].latest_at == booking.ends_at + HOUR


def test_a_booking_planned_after_it_ended_skips_everything_but_a_still_timely_end() -> None:
    plan = plan_notices(booking_input(-2 * HOUR, length=timedelta(minutes=90)), NOW)

    assert {n.key: n.status for n in plan} == {
        "reminder_24h": NoticeStatus.SKIPPED,
        "reminder_1h": NoticeStatus.SKIPPED,
        "start": NoticeStatus.SKIPPED,
        "end": NoticeStatus.PENDING,  # ended 30 min ago, within its hour
    }


def test_the_start_notice_can_be_turned_off() -> None:
    plan = plan_notices(booking_input(2 * DAY, start_notice=False), NOW)

    assert [n.key for n in plan] == ["reminder_24h", "reminder_1h", "end"]


def test_the_end_notice_can_be_turned_off() -> None:
    plan = plan_notices(booking_input(2 * DAY, end_notice=False), NOW)

    assert [n.key for n in plan] == ["reminder_24h", "reminder_1h", "start"]


def test_a_booking_with_no_reminders_and_no_notices_has_an_empty_plan() -> None:
    booking = booking_input(2 * DAY, reminders=[], start_notice=False, end_notice=False)

    assert plan_notices(booking, NOW) == []


def test_duplicate_reminder_offsets_collapse_into_one_notice() -> None:
    plan = plan_notices(booking_input(2 * DAY, reminders=[3600, 86400, 3600]), NOW)

    assert [n.key for n in plan if n.kind is NoticeKind.REMINDER] == [
        "reminder_24h",
        "reminder_1h",
    ]


def test_reminders_come_out_in_due_order_whatever_order_they_were_given() -> None:
    plan = plan_notices(booking_input(2 * DAY, reminders=[60, 86400, 5400]), NOW)

    assert [n.key for n in plan if n.kind is NoticeKind.REMINDER] == [
        "reminder_24h",
        "reminder_1h30m",
        "reminder_1m",
    ]


@pytest.mark.parametrize(
    ("offset_seconds", "key"),
    [(86400, "reminder_24h"), (5400, "reminder_1h30m"), (120, "reminder_2m"), (45, "reminder_45s")],
)
def test_a_reminder_key_names_its_offset(offset_seconds: int, key: str) -> None:
    assert reminder_key(offset_seconds) == key


def test_a_notice_that_fires_within_its_tolerance_is_not_stale() -> None:
    notice = Notice("reminder_1h", NoticeKind.REMINDER, NOW, NOW + timedelta(minutes=15), 3600)

    assert skip_reason_when_due(notice, NOW) is None
    assert skip_reason_when_due(notice, NOW + timedelta(minutes=15)) is None


def test_a_notice_that_fires_past_its_tolerance_says_how_late_it_is() -> None:
    notice = Notice("reminder_1h", NoticeKind.REMINDER, NOW, NOW + timedelta(minutes=15), 3600)

    reason = skip_reason_when_due(notice, NOW + timedelta(minutes=15, seconds=1))

    assert reason == "15m1s late, past its tolerance (latest 2026-01-15 10:15:00 UTC)"


def test_a_skip_reason_shows_the_latest_moment_in_utc() -> None:
    one_pm_in_berlin = datetime(2026, 1, 15, 13, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    notice = Notice("end", NoticeKind.END, one_pm_in_berlin - HOUR, one_pm_in_berlin)

    assert skip_reason_when_due(notice, one_pm_in_berlin + HOUR) == (
        "2h late, past its tolerance (latest 2026-01-15 12:00:00 UTC)"
    )


def test_next_pending_is_the_earliest_pending_notice_whatever_the_others() -> None:
    plan = plan_notices(booking_input(2 * DAY), NOW)
    plan[0].status = NoticeStatus.SENT
    plan[1].status = NoticeStatus.PROCESSING

    assert next_pending(reversed(plan)) is plan[2]


def test_next_pending_is_none_when_nothing_is_pending() -> None:
    plan = plan_notices(booking_input(2 * DAY), NOW)
    for notice, status in zip(
        plan,
        [NoticeStatus.SENT, NoticeStatus.SKIPPED, NoticeStatus.FAILED, NoticeStatus.CANCELLED],
        strict=True,
    ):
        notice.status = status

    assert next_pending(plan) is None
    assert next_pending([]) is None


def test_a_cancel_notice_is_due_at_once_and_stale_after_an_hour() -> None:
    notice = cancel_notice(NOW)

    assert (notice.key, notice.kind, notice.status) == (
        "cancel",
        NoticeKind.CANCEL,
        NoticeStatus.PENDING,
    )
    assert notice.due_at == NOW
    assert skip_reason_when_due(notice, NOW + HOUR) is None
    assert skip_reason_when_due(notice, NOW + HOUR + timedelta(seconds=1)) == (
        "1h1s late, past its tolerance (latest 2026-01-15 11:00:00 UTC)"
    )


def test_a_moved_notice_is_keyed_by_its_revision_and_due_at_once() -> None:
    notice = moved_notice(NOW, 3)

    assert (notice.key, notice.kind, notice.due_at) == ("moved_3", NoticeKind.MOVED, NOW)
    assert notice.latest_at == NOW + HOUR


def test_a_move_shifts_a_pending_notice_in_place() -> None:
    current = plan_notices(booking_input(2 * DAY), NOW)
    reminder = by_key(current)["reminder_1h"]
    fresh = plan_notices(booking_input(3 * DAY), NOW)

    changed = replan(current, fresh, revision=1)

    assert reminder in changed
    assert by_key(current)["reminder_1h"] is reminder
    assert reminder.due_at == NOW + 3 * DAY - HOUR
    assert len(current) == 4


def test_a_move_to_a_closer_start_skips_a_pending_reminder_with_the_new_reason() -> None:
    current = plan_notices(booking_input(2 * DAY), NOW)
    fresh = plan_notices(booking_input(3 * HOUR), NOW)

    replan(current, fresh, revision=1)

    reminder = by_key(current)["reminder_24h"]
    assert reminder.status is NoticeStatus.SKIPPED
    assert reminder.reason == (
        "too late when planned at 2026-01-15 10:00:00 UTC: due 2026-01-14 13:00:00 UTC"
    )


def test_a_move_to_a_later_start_brings_a_skipped_reminder_back() -> None:
    current = plan_notices(booking_input(3 * HOUR), NOW)
    assert by_key(current)["reminder_24h"].status is NoticeStatus.SKIPPED
    fresh = plan_notices(booking_input(3 * DAY), NOW)

    replan(current, fresh, revision=1)

    reminder = by_key(current)["reminder_24h"]
    assert reminder.status is NoticeStatus.PENDING
    assert reminder.reason is None


def test_a_sent_reminder_keeps_its_row_and_is_re_armed_under_a_revision_key() -> None:
    current = plan_notices(booking_input(2 * DAY), NOW)
    sent = by_key(current)["reminder_24h"]
    sent.status, old_due = NoticeStatus.SENT, sent.due_at
    fresh = plan_notices(booking_input(3 * DAY), NOW)

    changed = replan(current, fresh, revision=2)

    assert sent.status is NoticeStatus.SENT
    assert sent.due_at == old_due
    assert sent not in changed
    rearmed = by_key(current)["reminder_24h.2"]
    assert rearmed in changed
    assert rearmed.status is NoticeStatus.PENDING
    assert rearmed.due_at == NOW + 2 * DAY


def test_a_sent_reminder_whose_new_moment_is_already_stale_is_left_alone() -> None:
    current = plan_notices(booking_input(2 * DAY), NOW)
    by_key(current)["reminder_24h"].status = NoticeStatus.SENT
    fresh = plan_notices(booking_input(3 * HOUR), NOW)

    changed = replan(current, fresh, revision=1)

    assert [n.key for n in changed] == ["reminder_1h", "start", "end"]
    assert len(current) == 4


def test_a_second_move_shifts_the_re_armed_notice_not_the_sent_one() -> None:
    current = plan_notices(booking_input(2 * DAY), NOW)
    by_key(current)["reminder_24h"].status = NoticeStatus.SENT
    replan(current, plan_notices(booking_input(3 * DAY), NOW), revision=1)

    replan(current, plan_notices(booking_input(4 * DAY), NOW), revision=2)

    keys = [n.key for n in current if base_key(n.key) == "reminder_24h"]
    assert keys == ["reminder_24h", "reminder_24h.1"]
    assert by_key(current)["reminder_24h.1"].due_at == NOW + 3 * DAY


def test_the_base_key_drops_the_revision() -> None:
    assert base_key("reminder_1h30m.3") == "reminder_1h30m"
    assert base_key("start") == "start"


# Properties: any booking, any reminders, any planning moment.

bookings = st.builds(
    lambda start_in, length, reminders, start_notice, end_notice: booking_input(
        timedelta(seconds=start_in),
        timedelta(seconds=length),
        reminders=reminders,
        start_notice=start_notice,
        end_notice=end_notice,
    ),
    start_in=st.integers(min_value=-3 * 86400, max_value=5 * 86400),
    length=st.integers(min_value=1, max_value=3 * 86400),
    reminders=st.lists(st.integers(min_value=1, max_value=7 * 86400), max_size=10),
    start_notice=st.booleans(),
    end_notice=st.booleans(),
)
moments = st.integers(min_value=-86400, max_value=86400).map(
    lambda seconds: NOW + timedelta(seconds=seconds)
)


@FAST
@given(bookings, moments)
def test_the_plan_is_sorted_by_due_time(booking: BookingInput, now: datetime) -> None:
    due = [n.due_at for n in plan_notices(booking, now)]

    assert due == sorted(due)


@FAST
@given(bookings, moments)
def test_every_notice_is_due_no_later_than_its_latest_moment(
    booking: BookingInput, now: datetime
) -> None:
    assert all(n.due_at <= n.latest_at for n in plan_notices(booking, now))


@FAST
@given(bookings, moments)
def test_no_reminder_may_be_sent_after_the_start_nor_a_start_notice_after_the_end(
    booking: BookingInput, now: datetime
) -> None:
    for notice in plan_notices(booking, now):
        if notice.kind is NoticeKind.REMINDER:
            assert notice.latest_at <= booking.starts_at
        if notice.kind is NoticeKind.START:
            assert notice.latest_at <= booking.ends_at


@FAST
@given(bookings, moments)
def test_a_notice_is_skipped_at_plan_time_exactly_when_now_is_past_its_latest_moment(
    booking: BookingInput, now: datetime
) -> None:
    for notice in plan_notices(booking, now):
        if now > notice.latest_at:
            assert notice.status is NoticeStatus.SKIPPED
            assert notice.reason
        else:
            assert notice.status is NoticeStatus.PENDING
            assert notice.reason is None


@FAST
@given(bookings, moments)
def test_planning_and_firing_apply_the_same_staleness_rule(
    booking: BookingInput, now: datetime
) -> None:
    for notice in plan_notices(booking, now):
        assert (skip_reason_when_due(notice, now) is None) == (
            notice.status is NoticeStatus.PENDING
        )


@FAST
@given(bookings, moments)
def test_the_plan_has_one_notice_per_distinct_offset_and_enabled_notice_with_unique_keys(
    booking: BookingInput, now: datetime
) -> None:
    plan = plan_notices(booking, now)

    expected = len(set(booking.reminders)) + booking.start_notice + booking.end_notice
    assert len(plan) == expected
    assert len({n.key for n in plan}) == expected


@FAST
@given(bookings, moments)
def test_next_pending_is_the_first_pending_notice_of_the_plan(
    booking: BookingInput, now: datetime
) -> None:
    plan = plan_notices(booking, now)
    pending = [n for n in plan if n.status is NoticeStatus.PENDING]

    assert next_pending(plan) is (pending[0] if pending else None)


# One bound for the API, the CLI and the reschedule validator (issue 11, item 7).

BERLIN = ZoneInfo("Europe/Berlin")


def test_times_that_can_be_planned_have_no_problem() -> None:
    assert times_problem(NOW + DAY, NOW + DAY + HOUR, NOW) is None


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "problem"),
    [
        (NOW + DAY, NOW + DAY, "ends_at 2026-01-16T10:00:00+00:00 is not after starts_at"),
        (NOW, NOW + HOUR, "starts_at 2026-01-15T10:00:00+00:00 is in the past"),
        (
            datetime(9999, 1, 1, tzinfo=UTC),
            datetime(9999, 1, 1, 1, tzinfo=UTC),
            "starts_at 9999-01-01T00:00:00+00:00 is more than 1000 years (365000 days) ahead",
        ),
        (
            NOW + DAY,
            datetime.max.replace(tzinfo=timezone(-HOUR)),
            "ends_at 9999-12-31T23:59:59.999999-01:00 is out of range",
        ),
        (
            datetime(2026, 3, 29, 2, 30, tzinfo=BERLIN),
            datetime(2026, 3, 29, 3, 15, tzinfo=BERLIN),
            "starts_at 2026-03-29T02:30:00 does not exist in Europe/Berlin",
        ),
        (
            datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN),
            datetime(2026, 10, 25, 2, 15, fold=1, tzinfo=BERLIN),
            None,  # 45 minutes over the autumn change
        ),
        (NOW + DAY, datetime(2026, 1, 17, 10), "ends_at 2026-01-17T10:00:00 has no time zone"),
    ],
)
def test_the_problem_with_a_booking_s_times_names_the_field_and_the_value(
    starts_at: datetime, ends_at: datetime, problem: str | None
) -> None:
    found = times_problem(starts_at, ends_at, NOW)

    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(problem)


def test_a_move_more_than_a_thousand_years_ahead_is_a_problem_for_the_validator() -> None:
    """The update validator refuses it; planned, year 9999 used to fail the workflow task."""
    far = NOW + MAX_AHEAD + timedelta(seconds=1)

    assert times_problem(far, far + HOUR, NOW) == (
        "starts_at 3025-05-18T10:00:01+00:00 is more than 1000 years (365000 days) ahead"
    )
    assert times_problem(NOW + MAX_AHEAD - HOUR, NOW + MAX_AHEAD, NOW) is None


any_zone = st.sampled_from([UTC, BERLIN, timezone(timedelta(hours=14)), timezone(-12 * HOUR)])


@FAST
@given(
    st.datetimes(timezones=any_zone),
    st.datetimes(timezones=any_zone),
    st.lists(st.integers(min_value=1, max_value=int(MAX_REMINDER.total_seconds())), max_size=4),
    st.integers(min_value=1, max_value=2),
)
def test_times_without_a_problem_always_plan_and_replan_and_nothing_else_raises(
    starts_at: datetime, ends_at: datetime, reminders: list[int], version: int
) -> None:
    """The class of "an OverflowError inside a workflow task": any two datetimes at all."""
    problem = times_problem(starts_at, ends_at, NOW)
    if problem is not None:
        assert "\n" not in problem
        return
    booking = BookingInput(
        1,
        starts_at.astimezone(UTC),
        ends_at.astimezone(UTC),
        reminders=reminders,
        plan_version=version,
    )
    current = plan_notices(booking_input(DAY), NOW)

    replan(current, plan_notices(booking, NOW), revision=1)
