"""Human durations: ``1h30m`` in, ``1h30m`` out, and nothing but ``ValueError`` for bad text."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking_notifications.core.durations import (
    MAX_SECONDS,
    format_duration,
    parse_duration,
    parse_durations,
)
from booking_notifications.core.limits import MAX_REMINDER

FAST = settings(max_examples=200, deadline=None, database=None)

WELL_FORMED = re.compile(r"\s*(\d+[dhms])+\s*", re.IGNORECASE)
"""Digits and a unit, repeated: anything else is garbage (order and repeats are checked apart)."""

CANONICAL = re.compile(r"([1-9]\d*h)?([1-9]m|[1-5]\dm)?([1-9]s|[1-5]\ds)?")
"""What ``format_duration`` prints: no days, no zero parts, minutes and seconds below 60."""

SECONDS_IN_RANGE = st.integers(min_value=1, max_value=MAX_SECONDS)
"""Whole seconds that fit a ``timedelta`` (its limit is about 8.6e13 s)."""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("24h", timedelta(hours=24)),
        ("2d", timedelta(days=2)),
        ("1d12h30m15s", timedelta(days=1, hours=12, minutes=30, seconds=15)),
        ("0h30m", timedelta(minutes=30)),
        ("90m", timedelta(minutes=90)),
    ],
)
def test_a_duration_is_the_sum_of_its_parts(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


def test_case_and_surrounding_blanks_do_not_matter() -> None:
    assert parse_duration("  1H30M\n") == timedelta(hours=1, minutes=30)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "1",
        "h",
        "1.5h",
        "-1h",
        "+1h",
        "1h 30m",
        "1 h",
        "1w",
        "1hour",
        "30m1h",  # units out of order
        "1h1h",  # a unit twice
        "1h,30m",
    ],
)
def test_text_that_is_not_a_duration_is_rejected_naming_the_text(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_duration(text)


@pytest.mark.parametrize("text", ["0s", "0h0m", "00d"])
def test_a_zero_duration_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="not a positive duration"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["999999999999d", "100000000000000000000s"])
def test_a_duration_too_large_for_timedelta_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_duration(text)


@FAST
@given(
    st.one_of(
        st.text(),
        st.text(alphabet="0123456789dhmsDHMS .,-+:"),
    ).filter(lambda text: not WELL_FORMED.fullmatch(text))
)
def test_garbage_is_rejected_with_value_error_and_nothing_else(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@FAST
@given(
    st.fixed_dictionaries(
        {},
        optional={unit: st.integers(min_value=0, max_value=10**6) for unit in "dhms"},
    )
)
def test_any_well_formed_text_parses_to_its_sum_of_seconds(parts: dict[str, int]) -> None:
    text = "".join(f"{parts[unit]}{unit}" for unit in "dhms" if unit in parts)
    seconds = sum(parts.get(u, 0) * size for u, size in (("d", 86400), ("h", 3600), ("m", 60)))
    seconds += parts.get("s", 0)
    if 0 < seconds <= MAX_SECONDS:
        assert parse_duration(text) == timedelta(seconds=seconds)
    else:
        with pytest.raises(ValueError):
            parse_duration(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, "1s"),
        (90, "1m30s"),
        (3601, "1h1s"),
        (5400, "1h30m"),
        (86400, "24h"),
        (timedelta(days=2), "48h"),
        (timedelta(minutes=2), "2m"),
    ],
)
def test_format_prints_hours_minutes_and_seconds_never_days(
    value: int | timedelta, expected: str
) -> None:
    assert format_duration(value) == expected


@pytest.mark.parametrize("value", [0, -5, timedelta(0), timedelta(seconds=-1)])
def test_format_rejects_a_duration_that_is_not_positive(value: int | timedelta) -> None:
    with pytest.raises(ValueError, match="not a positive duration"):
        format_duration(value)


def test_format_rejects_a_sub_second_duration_as_zero() -> None:
    with pytest.raises(ValueError, match="0 s is not a positive duration"):
        format_duration(timedelta(milliseconds=500))


@FAST
@given(SECONDS_IN_RANGE)
def test_format_then_parse_gives_back_the_same_seconds(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == timedelta(seconds=seconds)


@FAST
@given(SECONDS_IN_RANGE)
def test_format_prints_the_shortest_canonical_text(seconds: int) -> None:
    text = format_duration(seconds)
    assert text
    assert CANONICAL.fullmatch(text), text


@FAST
@given(SECONDS_IN_RANGE)
def test_a_timedelta_and_its_whole_seconds_format_alike(seconds: int) -> None:
    assert format_duration(timedelta(seconds=seconds)) == format_duration(seconds)


def test_a_list_is_parsed_in_the_order_given() -> None:
    assert parse_durations("24h,1h,15m") == [
        timedelta(hours=24),
        timedelta(hours=1),
        timedelta(minutes=15),
    ]


@pytest.mark.parametrize("text", ["", "  ", ",", " , ,"])
def test_an_empty_list_text_is_an_empty_list(text: str) -> None:
    assert parse_durations(text) == []


def test_blank_items_in_a_list_are_ignored() -> None:
    assert parse_durations(" 24h , ,1h,") == [timedelta(hours=24), timedelta(hours=1)]


def test_one_bad_item_rejects_the_whole_list_naming_it() -> None:
    with pytest.raises(ValueError, match="'soon'"):
        parse_durations("24h,soon,1h")


def test_the_longest_duration_is_the_longest_reminder_the_api_accepts() -> None:
    """One bound for the CLI and the API: a reminder the CLI reads is one the API takes."""
    assert timedelta(seconds=MAX_SECONDS) == MAX_REMINDER
    assert parse_duration("400d") == MAX_REMINDER
    with pytest.raises(ValueError, match="longer than 400 days"):
        parse_duration("400d1s")
