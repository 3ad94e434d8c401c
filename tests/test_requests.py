"""Booking requests are checked before anything starts: each rule names the field and the value."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking_notifications.db.models import TITLE_MAX
from booking_notifications.requests import (
    MAX_REMINDERS,
    TELEGRAM_CHAT_ID_MAX,
    BookingRequest,
    InvalidBooking,
    check_language,
    check_reminders,
    check_time_zone,
)

NOW = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

FAST = settings(max_examples=200, deadline=None, database=None)


def booking(
    start_in: timedelta, length: timedelta = HOUR, *, chat_id: object = 4242, **fields: object
) -> BookingRequest:
    """A request starting ``start_in`` after ``NOW``.

    Like ``tests.stack.booking``, without importing the worker stack (seconds at collection).
    """
    start = NOW + start_in
    return BookingRequest(chat_id=chat_id, starts_at=start, ends_at=start + length, **fields)  # type: ignore[arg-type]


def test_a_valid_request_passes_and_is_returned_as_it_is() -> None:
    request = booking(
        DAY,
        title="Dentist",
        reminders=[DAY, HOUR, timedelta(minutes=5)],
        time_zone="Europe/Berlin",
        language="de",
        ref="dentist-42",
    )

    assert request.validated(NOW) is request


def test_the_defaults_are_valid() -> None:
    request = BookingRequest(chat_id=7, starts_at=NOW + DAY, ends_at=NOW + DAY + HOUR)

    assert request.validated(NOW) is request


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
    assert future.validated(NOW) is future


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

    assert request.validated(NOW) is request


@pytest.mark.parametrize("chat_id", [True, False, "4242", 42.0, None])
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

    assert request.validated(NOW) is request


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

    assert request.validated(NOW) is request


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
    assert longest.validated(NOW) is longest

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
