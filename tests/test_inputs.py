"""The CLI's parsers refuse any text with their own one-line error, never another exception."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from booking_notifications.cli import inputs
from booking_notifications.cli.inputs import UsageError


@given(st.text())
def test_any_text_is_a_time_or_a_usage_error(text: str) -> None:
    try:
        value = inputs.moment(text, None)
    except UsageError as err:
        assert "is not an ISO time" in str(err)
    else:
        assert value.tzinfo is not None


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
        ),
    )
)
def test_an_iso_time_with_an_offset_reads_back_as_the_same_moment(moment: datetime) -> None:
    assert inputs.moment(moment.isoformat(), "Asia/Tokyo") == moment


def test_a_time_without_an_offset_is_read_in_the_given_zone() -> None:
    read = inputs.moment("2026-07-01T10:00", "Europe/Berlin")
    assert read == datetime(2026, 7, 1, 8, tzinfo=UTC)
    assert inputs.moment("2026-07-01T10:00", None) == datetime(2026, 7, 1, 10, tzinfo=UTC)


@given(st.text())
def test_any_text_is_an_integer_or_an_argument_error(text: str) -> None:
    try:
        value = inputs.integer(text)
    except argparse.ArgumentTypeError as err:
        assert "is not an integer" in str(err)
    else:
        assert value == int(text.strip())


@given(st.text())
def test_any_text_is_a_status_or_an_argument_error(text: str) -> None:
    try:
        inputs.status(text)
    except argparse.ArgumentTypeError as err:
        assert "is not a status" in str(err)


@given(st.text())
def test_any_reminder_list_parses_or_is_a_usage_error(text: str) -> None:
    try:
        offsets = inputs.reminder_offsets(text)
    except UsageError as err:
        assert str(err).startswith("--reminders: ")
    else:
        assert all(o > timedelta(0) for o in offsets)
