"""Wall-clock readings across DST changes: which exist, which come twice, which instant each names.

The times are drawn near the real changes of odd zones (``tests.support.dst``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings

from booking_notifications.core.wallclock import (
    exists,
    first_instant,
    jump,
    last_instant,
    repeated,
    skipped,
)
from tests.support.dst import SECOND, instants, readings

FAST = settings(max_examples=300, deadline=None, database=None)


def reading(instant: datetime, zone: ZoneInfo) -> datetime:
    """What the zone's clocks show at an instant, without the zone."""
    return instant.astimezone(zone).replace(tzinfo=None)


BERLIN = ZoneInfo("Europe/Berlin")


def test_a_reading_skipped_in_spring_does_not_exist_and_says_where_the_clocks_jump() -> None:
    skipped_reading = datetime(2026, 3, 29, 2, 30, tzinfo=BERLIN)

    assert not exists(skipped_reading)
    assert not repeated(skipped_reading)
    assert jump(skipped_reading) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert skipped(skipped_reading) == (datetime(2026, 3, 29, 2, 0), datetime(2026, 3, 29, 3, 0))


def test_a_reading_repeated_in_autumn_exists_twice() -> None:
    twice = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN)

    assert exists(twice) and exists(twice.replace(fold=1))
    assert repeated(twice)
    assert not repeated(datetime(2026, 10, 25, 3, 30, tzinfo=BERLIN))


@pytest.mark.parametrize(
    ("zone", "day", "at", "jumps"),
    [
        ("Australia/Lord_Howe", date(2026, 10, 4), time(2, 15), (time(2), time(2, 30))),
        ("America/Sao_Paulo", date(2018, 11, 4), time(0, 0), (time(0), time(1))),
        ("Pacific/Chatham", date(2026, 9, 27), time(3, 0), (time(2, 45), time(3, 45))),
        ("Antarctica/Troll", date(2026, 3, 29), time(1, 30), (time(1), time(3))),
    ],
)
def test_skipped_readings_in_zones_with_odd_offsets_and_changes(
    zone: str, day: date, at: time, jumps: tuple[time, time]
) -> None:
    value = datetime.combine(day, at, ZoneInfo(zone))

    assert not exists(value)
    before, after = skipped(value)
    assert (before.time(), after.time()) == jumps
    assert first_instant(day, at, ZoneInfo(zone)) == jump(value)


def test_a_whole_skipped_day_jumps_to_the_next() -> None:
    """Samoa crossed the date line: 30 December 2011 never happened in Apia."""
    apia = ZoneInfo("Pacific/Apia")

    start = first_instant(date(2011, 12, 30), time(10), apia)

    assert start == datetime(2011, 12, 30, 10, tzinfo=UTC)
    assert reading(start, apia) == datetime(2011, 12, 31)


def test_a_window_bound_on_a_repeated_reading_takes_the_first_to_begin_and_the_last_to_end() -> (
    None
):
    day, at = date(2026, 10, 25), time(2, 30)

    assert first_instant(day, at, BERLIN) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert last_instant(day, at, BERLIN) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


@FAST
@given(instants())
def test_every_instant_reads_as_a_reading_that_exists(
    zone_and_instant: tuple[ZoneInfo, datetime],
) -> None:
    zone, instant = zone_and_instant

    assert exists(instant.astimezone(zone))


@FAST
@given(readings())
def test_a_reading_exists_exactly_when_some_instant_shows_it(value: datetime) -> None:
    zone = value.tzinfo
    assert isinstance(zone, ZoneInfo)
    shown = {reading(value.replace(fold=fold).astimezone(UTC), zone) for fold in (0, 1)}

    assert exists(value) == (value.replace(tzinfo=None, fold=0) in shown)


@FAST
@given(readings())
def test_a_skipped_reading_lies_between_the_two_readings_of_its_jump(value: datetime) -> None:
    if exists(value):
        return
    zone = value.tzinfo
    assert isinstance(zone, ZoneInfo)
    instant = jump(value)

    assert reading(instant - SECOND, zone) < value.replace(tzinfo=None, fold=0)
    assert value.replace(tzinfo=None, fold=0) < reading(instant, zone)
    assert (instant - SECOND).astimezone(zone).utcoffset() != instant.astimezone(zone).utcoffset()


@FAST
@given(readings())
def test_the_first_and_last_instants_of_a_reading_are_where_the_clocks_reach_and_leave_it(
    value: datetime,
) -> None:
    zone = value.tzinfo
    assert isinstance(zone, ZoneInfo)
    wall = value.replace(tzinfo=None, fold=0)
    first = first_instant(wall.date(), wall.time(), zone)
    last = last_instant(wall.date(), wall.time(), zone)

    assert reading(first - SECOND, zone) < wall <= reading(first, zone)
    assert reading(last - SECOND, zone) < wall <= reading(last, zone)
    assert first <= last
    if first != last:
        assert repeated(value)
    # No instant after the last one reads earlier than the reading (until the next change).
    assert all(reading(last + k * 10 * SECOND, zone) >= wall for k in range(1, 360))
