"""Booking requests are checked before anything starts: each rule names the field and the value."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking_notifications.api.requests import (
    MAX_REMINDERS,
    TELEGRAM_CHAT_ID_MAX,
    BookingRequest,
    InvalidBooking,
    check_cancel_reason,
    check_language,
    check_reminders,
    check_time_zone,
)
from booking_notifications.core.limits import MAX_AHEAD, MAX_REMINDER
from booking_notifications.core.wallclock import exists
from booking_notifications.db.models import CANCEL_REASON_MAX, TITLE_MAX
from booking_notifications.workflows.plan import PLAN_VERSION, plan_notices
from booking_notifications.workflows.types import BookingInput
from tests.support.bookings import DAY, HOUR, NOW
from tests.support.bookings import booking as booking_at
from tests.support.dst import readings

FAST = settings(max_examples=200, deadline=None, database=None)
booking = partial(booking_at, now=NOW)
"""A request starting ``start_in`` after ``NOW``."""


def test_a_valid_request_passes_and_is_returned_unchanged() -> None:
    request = booking(
        DAY,
        title="Dentist",
        reminders=[DAY, HOUR, timedelta(minutes=5)],
        time_zone="Europe/Berlin",
        language="de",
        ref="dentist-42",
    )

    assert request.validated(NOW) == request


def test_the_defaults_are_valid() -> None:
    request = BookingRequest(chat_id=7, starts_at=NOW + DAY, ends_at=NOW + DAY + HOUR)

    assert request.validated(NOW) == request


def test_times_in_other_zones_compare_as_moments() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # 10:30 in Berlin is 09:30 UTC, before NOW; 11:30 in Berlin is 10:30 UTC, after it.
    past = BookingRequest(
        chat_id=1,
        starts_at=datetime(2026, 1, 15, 10, 30, tzinfo=berlin),
        ends_at=datetime(2026, 1, 15, 12, 0, tzinfo=berlin),
    )
    future = dataclasses.replace(past, starts_at=datetime(2026, 1, 15, 11, 30, tzinfo=berlin))

    with pytest.raises(InvalidBooking, match="in the past"):
        past.validated(NOW)
    assert future.validated(NOW) == future


@pytest.mark.parametrize("length", [timedelta(0), -HOUR])
def test_an_end_not_after_the_start_is_rejected(length: timedelta) -> None:
    request = booking(DAY, length)

    with pytest.raises(InvalidBooking, match=r"ends_at .* is not after starts_at"):
        request.validated(NOW)


@pytest.mark.parametrize("start_in", [timedelta(0), -HOUR])
def test_a_start_now_or_in_the_past_is_rejected(start_in: timedelta) -> None:
    request = booking(start_in)

    with pytest.raises(InvalidBooking, match=r"starts_at 2026-01-15T.* is in the past"):
        request.validated(NOW)


@pytest.mark.parametrize("field", ["starts_at", "ends_at"])
def test_a_naive_time_is_rejected_naming_the_field(field: str) -> None:
    request = booking(DAY)
    naive = dataclasses.replace(request, **{field: getattr(request, field).replace(tzinfo=None)})

    with pytest.raises(InvalidBooking, match=f"{field} .* has no time zone"):
        naive.validated(NOW)


def test_a_time_that_is_not_a_datetime_is_rejected() -> None:
    request = dataclasses.replace(booking(DAY), starts_at="tomorrow")  # type: ignore[arg-type]

    with pytest.raises(InvalidBooking, match="starts_at must be a datetime, not 'tomorrow'"):
        request.validated(NOW)


def test_a_fixed_offset_time_is_accepted() -> None:
    plus_two = timezone(timedelta(hours=2))
    request = BookingRequest(
        chat_id=1,
        starts_at=datetime(2026, 1, 16, 12, 0, tzinfo=plus_two),
        ends_at=datetime(2026, 1, 16, 13, 0, tzinfo=plus_two),
    )

    assert request.validated(NOW) == request


@pytest.mark.parametrize("chat_id", [True, False, "4242", 42.0])
def test_a_chat_id_that_is_not_an_integer_is_rejected(chat_id: object) -> None:
    request = booking(DAY, chat_id=chat_id)

    with pytest.raises(InvalidBooking, match=f"chat_id must be an integer, not {chat_id!r}"):
        request.validated(NOW)


@pytest.mark.parametrize("chat_id", [0, TELEGRAM_CHAT_ID_MAX, -TELEGRAM_CHAT_ID_MAX, 10**20])
def test_a_chat_id_outside_telegrams_range_is_rejected(chat_id: int) -> None:
    request = booking(DAY, chat_id=chat_id)

    with pytest.raises(InvalidBooking, match=f"chat_id {chat_id} is not a Telegram chat id"):
        request.validated(NOW)


@pytest.mark.parametrize("chat_id", [1, -1001234567890, TELEGRAM_CHAT_ID_MAX - 1])
def test_user_and_group_chat_ids_are_accepted(chat_id: int) -> None:
    request = booking(DAY, chat_id=chat_id)

    assert request.validated(NOW) == request


@pytest.mark.parametrize("offset", [timedelta(0), -HOUR])
def test_a_reminder_offset_that_is_not_positive_is_rejected(offset: timedelta) -> None:
    with pytest.raises(InvalidBooking, match="must be a positive duration"):
        check_reminders([HOUR, offset])


def test_a_reminder_offset_that_is_not_a_timedelta_is_rejected() -> None:
    with pytest.raises(InvalidBooking, match="reminder offset 3600 must be a positive duration"):
        check_reminders([3600])  # type: ignore[list-item]


def test_a_fractional_reminder_offset_is_rejected() -> None:
    with pytest.raises(InvalidBooking, match="must be whole seconds"):
        check_reminders([timedelta(seconds=90.5)])


def test_the_same_reminder_offset_given_twice_is_rejected_however_spelt() -> None:
    with pytest.raises(InvalidBooking, match="reminder offset 1h is given twice"):
        check_reminders([DAY, HOUR, timedelta(minutes=60)])


def test_ten_reminders_are_allowed_but_eleven_are_not() -> None:
    ten = [timedelta(minutes=m) for m in range(1, MAX_REMINDERS + 1)]
    check_reminders(ten)

    with pytest.raises(InvalidBooking, match="11 reminders; at most 10"):
        check_reminders([*ten, timedelta(minutes=99)])


def test_no_reminders_at_all_is_fine() -> None:
    request = booking(DAY, reminders=[])

    assert request.validated(NOW) == request


def test_a_bad_reminder_fails_the_whole_request() -> None:
    request = booking(DAY, reminders=[HOUR, HOUR])

    with pytest.raises(InvalidBooking, match="given twice"):
        request.validated(NOW)


@FAST
@given(
    st.lists(
        st.integers(min_value=1, max_value=30 * 86400).map(lambda s: timedelta(seconds=s)),
        max_size=MAX_REMINDERS,
        unique=True,
    )
)
def test_up_to_ten_distinct_positive_whole_second_offsets_always_pass(
    reminders: list[timedelta],
) -> None:
    check_reminders(reminders)


def test_a_title_of_the_maximum_length_passes_and_one_more_character_does_not() -> None:
    assert TITLE_MAX == 256
    longest = booking(DAY, title="x" * TITLE_MAX)
    assert longest.validated(NOW) == longest

    with pytest.raises(InvalidBooking, match="title is 257 characters; the limit is 256"):
        booking(DAY, title="x" * (TITLE_MAX + 1)).validated(NOW)


@pytest.mark.parametrize("name", ["Europe/Berlin", "America/New_York", "UTC", "Asia/Kolkata"])
def test_a_known_time_zone_is_returned_as_a_zone(name: str) -> None:
    assert check_time_zone(name) == ZoneInfo(name)


@pytest.mark.parametrize(
    "name", ["Mars/Olympus_Mons", "", "CEST", "Europe/Berlin ", "../../etc/passwd", "a\x00b"]
)
def test_an_unknown_time_zone_is_rejected_naming_it(name: str) -> None:
    with pytest.raises(InvalidBooking, match=re.escape(f"unknown time zone {name!r}")):
        check_time_zone(name)


@pytest.mark.parametrize("name", ["Europe", "America"])
def test_a_region_without_a_city_is_an_unknown_time_zone(name: str) -> None:
    with pytest.raises(InvalidBooking, match="unknown time zone"):
        check_time_zone(name)


def test_an_unknown_time_zone_fails_the_whole_request() -> None:
    request = booking(DAY, time_zone="Europe/Atlantis")

    with pytest.raises(InvalidBooking, match="unknown time zone 'Europe/Atlantis'"):
        request.validated(NOW)


@pytest.mark.parametrize("code", ["en", "ru", "pt_BR", "de"])
def test_a_known_language_is_returned(code: str) -> None:
    assert check_language(code) == code


@pytest.mark.parametrize("code", ["", "xx", "klingon", "en_XX_YY", "1234"])
def test_an_unknown_language_is_rejected_naming_it(code: str) -> None:
    with pytest.raises(InvalidBooking, match=re.escape(f"unknown language {code!r}")):
        check_language(code)


def test_an_unknown_language_fails_the_whole_request() -> None:
    request = booking(DAY, language="xx")

    with pytest.raises(InvalidBooking, match="unknown language 'xx'"):
        request.validated(NOW)


@FAST
@given(st.text(max_size=20))
def test_any_language_text_is_either_accepted_or_an_invalid_booking(code: str) -> None:
    try:
        assert check_language(code) == code
    except InvalidBooking as err:
        assert repr(code) in str(err)


@pytest.mark.parametrize("ref", ["", "r" * 129])
def test_a_ref_must_be_1_to_128_characters(ref: str) -> None:
    with pytest.raises(InvalidBooking, match="ref must be 1 to 128 characters"):
        booking(DAY, ref=ref).validated(NOW)


def test_an_invalid_booking_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        booking(-HOUR).validated(NOW)


# Times are judged as instants, whatever zone they are read in (issue 11, item 4).

BERLIN = ZoneInfo("Europe/Berlin")


def test_an_end_before_the_start_across_the_spring_change_is_refused() -> None:
    """02:30 does not exist on 29 March 2026 in Berlin; read as 03:30 it is after 03:15."""
    request = BookingRequest(
        chat_id=1,
        starts_at=datetime(2026, 3, 29, 2, 30, tzinfo=BERLIN),
        ends_at=datetime(2026, 3, 29, 3, 15, tzinfo=BERLIN),
    )

    with pytest.raises(InvalidBooking, match="starts_at 2026-03-29T02:30:00 does not exist in"):
        request.validated(NOW)


def test_a_skipped_reading_is_refused_saying_where_the_clocks_jump() -> None:
    request = booking(DAY, length=30 * DAY)
    request = dataclasses.replace(request, ends_at=datetime(2026, 3, 29, 2, 30, tzinfo=BERLIN))

    with pytest.raises(
        InvalidBooking,
        match=re.escape(
            "ends_at 2026-03-29T02:30:00 does not exist in Europe/Berlin: "
            "the clocks jump from 02:00 to 03:00 that day"
        ),
    ):
        request.validated(NOW)


def test_a_45_minute_booking_over_the_autumn_change_is_accepted() -> None:
    """02:30 summer time, then 02:15 winter time: 45 minutes later, though it reads earlier."""
    starts_at = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN)
    ends_at = datetime(2026, 10, 25, 2, 15, fold=1, tzinfo=BERLIN)
    request = BookingRequest(chat_id=1, starts_at=starts_at, ends_at=ends_at)

    accepted = request.validated(NOW)

    assert accepted.ends_at - accepted.starts_at == timedelta(minutes=45)


def test_a_reading_repeated_by_the_autumn_change_is_the_one_its_fold_names() -> None:
    first = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN)
    request = BookingRequest(chat_id=1, starts_at=first, ends_at=first + 2 * HOUR)

    summer = request.validated(NOW)
    winter = dataclasses.replace(request, starts_at=first.replace(fold=1)).validated(NOW)

    assert summer.starts_at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert winter.starts_at == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_the_validated_request_carries_its_times_in_utc() -> None:
    request = BookingRequest(
        chat_id=1,
        starts_at=datetime(2026, 7, 1, 10, tzinfo=BERLIN),
        ends_at=datetime(2026, 7, 1, 11, tzinfo=BERLIN),
    )

    accepted = request.validated(NOW)

    assert (accepted.starts_at, accepted.ends_at) == (
        datetime(2026, 7, 1, 8, tzinfo=UTC),
        datetime(2026, 7, 1, 9, tzinfo=UTC),
    )
    assert accepted.starts_at.tzinfo is UTC and accepted.ends_at.tzinfo is UTC


@st.composite
def reading_pairs(draw: st.DrawFn) -> tuple[datetime, datetime]:
    """Two readings in one zone, up to three hours apart either way, near one of its changes."""
    start = draw(readings())
    apart = timedelta(minutes=draw(st.integers(min_value=-180, max_value=180)))
    end = (start.replace(tzinfo=None, fold=0) + apart).replace(tzinfo=start.tzinfo)
    return start, end.replace(fold=draw(st.sampled_from([0, 1])))


@FAST
@given(reading_pairs(), st.integers(min_value=1, max_value=10 * 86400))
def test_any_two_readings_are_accepted_exactly_when_both_exist_and_the_end_is_later(
    pair: tuple[datetime, datetime], lead: int
) -> None:
    """Near DST changes of zones with 30- and 45-minute offsets and changes, in both hemispheres."""
    start, end = pair
    now = min(start.astimezone(UTC), end.astimezone(UTC)) - timedelta(seconds=lead)  # instants
    request = BookingRequest(chat_id=1, starts_at=start, ends_at=end)
    acceptable = exists(start) and exists(end) and end.astimezone(UTC) > start.astimezone(UTC)

    if acceptable:
        accepted = request.validated(now)
        assert accepted.starts_at == start.astimezone(UTC)
        assert accepted.ends_at == end.astimezone(UTC)
    else:
        with pytest.raises(InvalidBooking, match=r"does not exist in|is not after"):
            request.validated(now)


# Bounds: a far date or offset is an ordinary refusal, never an OverflowError (item 7).


@pytest.mark.parametrize(
    "starts_at",
    [
        datetime(9999, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
        NOW + MAX_AHEAD + timedelta(seconds=1),
    ],
)
def test_a_start_more_than_a_thousand_years_ahead_is_refused(starts_at: datetime) -> None:
    request = BookingRequest(chat_id=1, starts_at=starts_at, ends_at=starts_at + timedelta(0, 1))

    with pytest.raises(
        InvalidBooking, match=r"^starts_at .* is more than 1000 years \(365000 days\) ahead$"
    ):
        request.validated(NOW)


def test_an_end_more_than_a_thousand_years_ahead_is_refused() -> None:
    request = booking(DAY, length=MAX_AHEAD)

    with pytest.raises(InvalidBooking, match=r"^ends_at .* is more than 1000 years"):
        request.validated(NOW)


def test_a_booking_ending_just_inside_the_bound_is_accepted() -> None:
    request = booking(DAY, length=MAX_AHEAD - DAY)

    assert request.validated(NOW).ends_at == NOW + MAX_AHEAD


@pytest.mark.parametrize(
    "ends_at",
    [
        datetime.max.replace(tzinfo=timezone(-HOUR)),
        datetime.min.replace(tzinfo=timezone(HOUR)),
    ],
)
def test_a_time_beyond_the_calendar_in_utc_is_out_of_range(ends_at: datetime) -> None:
    request = dataclasses.replace(booking(DAY), ends_at=ends_at)

    with pytest.raises(InvalidBooking, match=r"^ends_at .* is out of range$"):
        request.validated(NOW)


@pytest.mark.parametrize("days", [401, 10**6, 999_999_999])
def test_a_reminder_longer_than_400_days_is_refused(days: int) -> None:
    request = booking(DAY, reminders=[timedelta(days=days)])

    with pytest.raises(InvalidBooking, match="is longer than 400 days"):
        request.validated(NOW)


def test_a_reminder_of_exactly_400_days_is_accepted() -> None:
    check_reminders([MAX_REMINDER])

    assert timedelta(days=400) == MAX_REMINDER


@FAST
@given(
    start=st.datetimes(timezones=st.sampled_from([UTC, BERLIN, ZoneInfo("Pacific/Chatham")])),
    length=st.timedeltas(min_value=timedelta(seconds=1)),
    reminders=st.lists(st.timedeltas(min_value=timedelta(seconds=1)), max_size=3),
)
def test_any_request_is_refused_or_plans_without_error(
    start: datetime, length: timedelta, reminders: list[timedelta]
) -> None:
    """The class of "an OverflowError in the planner": whatever passes validation can be planned."""
    now = datetime(2026, 1, 15, tzinfo=UTC)
    try:
        end = start + length
    except OverflowError:
        end = datetime.max.replace(tzinfo=start.tzinfo)
    request = BookingRequest(chat_id=1, starts_at=start, ends_at=end, reminders=reminders)
    try:
        accepted = request.validated(now)
    except InvalidBooking as err:
        assert "\n" not in str(err)
        return
    booking_input = BookingInput(
        1,
        accepted.starts_at,
        accepted.ends_at,
        reminders=[int(r.total_seconds()) for r in accepted.reminders],
        plan_version=PLAN_VERSION,
    )
    plan = plan_notices(booking_input, now)
    assert all(n.due_at <= n.latest_at for n in plan)


# Titles, refs and quiet hours that a database would refuse, or that are no title at all
# (items 10 and 11).


@pytest.mark.parametrize("title", ["", " ", "   ", "\u3000", " \u00a0 ", "\u200b", "\u2060 \ufeff"])
def test_a_blank_title_is_refused(title: str) -> None:
    with pytest.raises(InvalidBooking, match="title is blank: give a title or none"):
        booking(DAY, title=title).validated(NOW)


def test_a_title_is_kept_without_surrounding_blanks_which_do_not_count_to_its_limit() -> None:
    assert booking(DAY, title="  Court 3 ").validated(NOW).title == "Court 3"
    assert booking(DAY, title=f" {'x' * TITLE_MAX} ").validated(NOW).title == "x" * TITLE_MAX


def with_text(field: str, text: str) -> BookingRequest:
    """A valid request but for its title or its ref."""
    return booking(DAY, title=text) if field == "title" else booking(DAY, ref=text)


@pytest.mark.parametrize(
    ("field", "text", "code"),
    [
        *(
            (field, text, code)
            for field in ("title", "ref")
            for text, code in (("a\x00b", "U+0000"), ("bell\x07", "U+0007"), ("\x9bx", "U+009B"))
        ),
        ("ref", "two\nlines", "U+000A"),
    ],
)
def test_a_title_or_ref_with_a_control_character_is_refused_naming_it(
    field: str, text: str, code: str
) -> None:
    with pytest.raises(
        InvalidBooking, match=f"^{field} .* contains the control character {re.escape(code)}"
    ):
        with_text(field, text).validated(NOW)


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("two\nlines", "two lines"),
        ("Court 3\r\n by the lake", "Court 3 by the lake"),
        ("a\t\tb", "a b"),
    ],
)
def test_a_title_spread_over_lines_becomes_one_line(typed: str, kept: str) -> None:
    """A spreadsheet cell may hold line breaks; a message shows the title on one line."""
    assert booking(DAY, title=typed).validated(NOW).title == kept


@pytest.mark.parametrize("field", ["title", "ref"])
def test_a_title_or_ref_with_a_lone_surrogate_is_refused(field: str) -> None:
    """Not text: no database can encode it."""
    with pytest.raises(InvalidBooking, match=f"^{field} .* contains the lone surrogate U\\+D800"):
        with_text(field, "a\ud800").validated(NOW)


@pytest.mark.parametrize("title", ["Court 3 — «Центр»", "🎾 Tennis", "שלום", "👩\u200d👩\u200d👧"])
def test_any_printable_title_is_accepted_as_it_is(title: str) -> None:
    assert booking(DAY, title=title).validated(NOW).title == title


@pytest.mark.parametrize("typed", ["22:00 - 08:00", " 22:00-08:00\n", "22:00\t-\t08:00"])
def test_quiet_hours_typed_with_blanks_are_kept_in_their_canonical_form(typed: str) -> None:
    assert booking(DAY, quiet_hours=typed).validated(NOW).quiet_hours == "22:00-08:00"


def test_a_cancel_reason_is_one_line_within_its_limit_and_storable() -> None:
    """Shown in the cancellation notice and stored in SQL: the rules of a title."""
    assert check_cancel_reason(" rain\n and wind ") == "rain and wind"
    assert check_cancel_reason("   ") is None
    assert check_cancel_reason("x" * CANCEL_REASON_MAX) == "x" * CANCEL_REASON_MAX
    with pytest.raises(
        InvalidBooking, match=f"cancel reason is {CANCEL_REASON_MAX + 1} characters"
    ):
        check_cancel_reason("x" * (CANCEL_REASON_MAX + 1))
    with pytest.raises(InvalidBooking, match=r"contains the control character U\+0000"):
        check_cancel_reason("closed\x00")


@pytest.mark.parametrize(
    ("owner", "message"),
    [
        ({"chat_id": None}, "give the owner as chat_id or as user_ref, one of the two"),
        ({"user_ref": "u-1"}, "give the owner as chat_id or as user_ref, one of the two"),
        ({"chat_id": None, "user_ref": ""}, "user_ref must be 1 to 128 characters"),
        ({"chat_id": None, "user_ref": "x" * 129}, "user_ref must be 1 to 128 characters"),
        ({"chat_id": None, "user_ref": "a\x00b"}, r"user_ref .* contains the control character"),
        ({"chat_id": None, "user_ref": 42}, "user_ref must be 1 to 128 characters, not 42"),
    ],
)
def test_an_owner_is_a_chat_id_or_a_user_ref_and_nothing_else(
    owner: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidBooking, match=message):
        booking(DAY, **owner).validated(NOW)


def test_an_owner_named_by_user_ref_alone_is_accepted() -> None:
    request = booking(DAY, chat_id=None, user_ref="customer-17")
    assert request.validated(NOW).user_ref == "customer-17"
