"""Local wall-clock readings and the instants they name, across DST changes.

A zone's clocks skip some readings (spring forward: 02:30 does not exist in Berlin on 29 March
2026) and show others twice (fall back: 02:30 on 25 October 2026 comes once in summer time and
once in winter time; ``fold`` picks which). Python compares two datetimes that share a tzinfo by
their readings, not their instants, so everything here answers in UTC.

Pure standard library: the workflow's validators may import it inside Temporal's sandbox.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo


def exists(value: datetime) -> bool:
    """Whether an aware value's reading is one its zone's clocks show (not skipped by a change)."""
    zone = value.tzinfo
    if zone is None:
        raise ValueError("a naive datetime has no zone to exist in")
    try:
        back = value.astimezone(UTC).astimezone(zone)
    except ValueError:  # a tzinfo without dst() cannot map instants back: its offset is all it says
        return True
    return back.replace(tzinfo=None, fold=0) == value.replace(tzinfo=None, fold=0)


def repeated(value: datetime) -> bool:
    """Whether an aware value's reading comes twice (a fall-back change), so its fold matters."""
    first, second = value.replace(fold=0), value.replace(fold=1)
    return exists(value) and first.utcoffset() != second.utcoffset()


def zone_name(zone: tzinfo | None) -> str:
    """``Europe/Berlin`` for a ZoneInfo; the tzinfo's own text for anything else."""
    return str(getattr(zone, "key", None) or zone)


def jump(value: datetime) -> datetime:
    """The instant (UTC) at which the clocks skip past a reading that does not exist."""
    zone = value.tzinfo
    assert zone is not None and not exists(value)
    # A skipped reading read with the offset before the change is an instant after it, and with
    # the offset after the change one before it: the change lies between the two.
    low, high = sorted(value.replace(fold=f).astimezone(UTC) for f in (0, 1))
    after = high.astimezone(zone).utcoffset()
    steps = int((high - low).total_seconds())
    while steps > 1:  # changes happen on whole seconds: bisect to the first one past it
        half = low + timedelta(seconds=steps // 2)
        if half.astimezone(zone).utcoffset() == after:
            high = half
        else:
            low = half
        steps = int((high - low).total_seconds())
    return high


def skipped(value: datetime) -> tuple[datetime, datetime]:
    """The readings between which the clocks jump over ``value`` (which must not exist)."""
    zone = value.tzinfo
    instant = jump(value)
    before = (instant - timedelta(seconds=1)).astimezone(zone) + timedelta(seconds=1)
    return before.replace(tzinfo=None), instant.astimezone(zone).replace(tzinfo=None)


def first_instant(day: date, reading: time, zone: tzinfo) -> datetime:
    """The first instant (UTC) at which the clocks of ``zone`` show ``reading`` on ``day``, or
    pass it when a change skips it: where a daily window that begins at ``reading`` begins."""
    local = datetime.combine(day, reading, zone)
    return local.replace(fold=0).astimezone(UTC) if exists(local) else jump(local)


def last_instant(day: date, reading: time, zone: tzinfo) -> datetime:
    """The last instant (UTC) at which the clocks of ``zone`` reach ``reading`` on ``day`` from
    below, or pass it when a change skips it: where a daily window that ends at ``reading`` ends.

    Of a reading shown twice that is the second one, since the clocks go back below it in
    between; unless it is where they go back to, which they reach the second time from above.
    """
    local = datetime.combine(day, reading, zone)
    if not exists(local):
        return jump(local)
    second = local.replace(fold=1).astimezone(UTC)
    just_before = (second - timedelta(seconds=1)).astimezone(zone).replace(tzinfo=None)
    if just_before < local.replace(tzinfo=None):
        return second
    return local.replace(fold=0).astimezone(UTC)
