"""Hypothesis strategies for times near real DST changes: zones with 30- and 45-minute offsets
(and a 30-minute change), in both hemispheres, a skipped day and a two-hour change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

SECOND = timedelta(seconds=1)

YEARS = {
    "Europe/Berlin": (2026, 2027),
    "America/Sao_Paulo": (2016, 2019),  # DST at midnight until 2019
    "Australia/Lord_Howe": (2026, 2027),  # a 30-minute change
    "Asia/Kathmandu": (1985, 1987),  # +05:30 to +05:45 in 1986
    "Australia/Adelaide": (2026, 2027),  # +09:30 / +10:30
    "America/St_Johns": (2026, 2027),  # -03:30 / -02:30
    "Pacific/Chatham": (2026, 2027),  # +12:45 / +13:45
    "America/New_York": (2026, 2027),
    "Pacific/Apia": (2011, 2012),  # skipped 30 December 2011 entirely
    "Antarctica/Troll": (2026, 2027),  # a two-hour change
}
ZONES = sorted(YEARS)


@cache
def changes(name: str) -> tuple[datetime, ...]:
    """The instants (UTC) at which the zone's offset changes within its years."""
    zone = ZoneInfo(name)
    first, last = YEARS[name]
    found = []
    moment = datetime(first, 1, 1, tzinfo=UTC)
    end = datetime(last + 1, 1, 1, tzinfo=UTC)
    while moment < end:
        later = moment + timedelta(hours=12)
        if moment.astimezone(zone).utcoffset() != later.astimezone(zone).utcoffset():
            low, high = moment, later
            while high - low > SECOND:
                half = low + (high - low) // 2 // SECOND * SECOND
                before = half.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset()
                low, high = (half, high) if before else (low, half)
            found.append(high)
        moment = later
    assert found, name
    return tuple(found)


@st.composite
def instants(draw: st.DrawFn, within: timedelta = timedelta(hours=3)) -> tuple[ZoneInfo, datetime]:
    """A zone and an instant (UTC) at most ``within`` from one of its changes, to the minute or
    the second."""
    name = draw(st.sampled_from(ZONES))
    change = draw(st.sampled_from(changes(name)))
    reach = int(within.total_seconds())
    step = draw(st.sampled_from([60, 1]))
    offset = draw(st.integers(min_value=-reach // step, max_value=reach // step)) * step
    return ZoneInfo(name), change + timedelta(seconds=offset)


@st.composite
def readings(draw: st.DrawFn) -> datetime:
    """An aware reading in a zone near one of its changes, with either fold: it may be skipped by
    the change, come twice, or be an ordinary one."""
    zone, instant = draw(instants())
    local = instant.astimezone(zone).replace(tzinfo=None)
    shift = timedelta(minutes=draw(st.integers(min_value=-150, max_value=150)))
    return (local + shift).replace(tzinfo=zone, fold=draw(st.sampled_from([0, 1])))
