"""Times typed on the command line without an offset are read in ``--tz``: a reading the clocks
skip is refused, and of a reading shown twice the CLI says which one it took (issue 11, item 4)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings

from booking_notifications.cli import inputs
from booking_notifications.cli.inputs import UsageError
from booking_notifications.core.wallclock import exists
from tests.support.dst import readings

FAST = settings(max_examples=300, deadline=None, database=None)


def test_a_time_the_clocks_skip_is_refused_saying_where_they_jump() -> None:
    with pytest.raises(
        UsageError,
        match=re.escape(
            "'2026-03-29T02:30' does not exist in Europe/Berlin: the clocks jump from 02:00 "
            "to 03:00 that day; give another time, or an offset such as +02:00"
        ),
    ):
        inputs.moment("2026-03-29T02:30", "Europe/Berlin")


def test_a_time_shown_twice_is_the_first_and_the_cli_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    value = inputs.moment("2026-10-25T02:30", "Europe/Berlin")

    assert value.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    note = capsys.readouterr().err
    assert note == (
        "booking-notify: 2026-10-25T02:30 comes twice in Europe/Berlin: taken as the first, "
        "2026-10-25T02:30:00+02:00 (write 2026-10-25T02:30:00+01:00 for the second)\n"
    )


def test_the_second_of_two_equal_readings_is_chosen_by_its_offset(
    capsys: pytest.CaptureFixture[str],
) -> None:
    value = inputs.moment("2026-10-25T02:30+01:00", "Europe/Berlin")

    assert value.astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert capsys.readouterr().err == ""


def test_a_time_far_beyond_the_calendar_in_utc_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="'9999-12-31T23:30' is out of range"):
        inputs.moment("9999-12-31T23:30", "America/New_York")


@FAST
@given(readings())
def test_any_typed_reading_is_refused_or_read_as_an_instant_that_shows_it(value: datetime) -> None:
    """Near the changes of zones with 30- and 45-minute offsets, in both hemispheres."""
    zone = value.tzinfo
    assert isinstance(zone, ZoneInfo)
    text = value.replace(tzinfo=None, fold=0).isoformat()

    try:
        read = inputs.moment(text, zone.key)
    except UsageError as err:
        assert not exists(value)
        assert str(err).startswith(f"{text!r} does not exist in {zone.key}: the clocks jump")
    else:
        assert exists(read)
        assert read.astimezone(zone).replace(tzinfo=None) == value.replace(tzinfo=None, fold=0)
