"""The bounds of a booking's times and reminders, judged in one place for the API, the CLI and the
workflow's reschedule validator.

Times are judged as instants (UTC): Python compares two datetimes that share a ZoneInfo by their
wall-clock readings, which across a DST change accepts a booking that ends before it starts and
refuses a real one. A reading the zone skips is refused rather than guessed. Bounds keep every
sum the planner makes (a start plus a tolerance, a start minus an offset) inside ``datetime``'s
range, so a far date is an ordinary refusal, never an OverflowError inside a workflow task.

Pure standard library: the workflow imports it inside Temporal's sandbox.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from booking_notifications.core.wallclock import exists, skipped, zone_name

MAX_AHEAD_YEARS = 1000
MAX_AHEAD = timedelta(days=MAX_AHEAD_YEARS * 365)
"""How far from now a booking may start and end. The bound is there for ``datetime``'s range
(year 9999), not for taste: a booking's input no longer grows with its lead time, and clocks
that run ahead (Temporal's time-skipping test server gains years in a test run) must still work
with the API's."""
MAX_REMINDER = timedelta(days=400)
"""A reminder may come at most this long before the start (a year ahead, with room)."""


def times_problem(starts_at: object, ends_at: object, now: datetime) -> str | None:
    """Why a booking cannot run from ``starts_at`` to ``ends_at`` when planned at ``now``, in one
    line naming the field and the value; None when it can.

    The same rules for a new booking (API and CLI) and for a move (the workflow's validator): both
    are aware datetimes whose readings exist, the end is after the start, the start is after
    ``now``, and neither is more than ``MAX_AHEAD`` from ``now``.
    """
    instants = {}
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if not isinstance(value, datetime):
            return f"{name} must be a datetime, not {value!r}"
        if value.tzinfo is None or value.utcoffset() is None:
            return f"{name} {value.isoformat()} has no time zone"
        try:
            instants[name] = value.astimezone(UTC)
            real = exists(value)
        except OverflowError:
            return _out_of_range(name, value)
        if not real:
            jumps_from, jumps_to = skipped(value)
            return (
                f"{name} {value.replace(tzinfo=None).isoformat()} does not exist in "
                f"{zone_name(value.tzinfo)}: the clocks jump from {jumps_from:%H:%M} to "
                f"{jumps_to:%H:%M} that day"
            )
    assert isinstance(starts_at, datetime) and isinstance(ends_at, datetime)
    start, end, now = instants["starts_at"], instants["ends_at"], now.astimezone(UTC)
    if end <= start:
        return f"ends_at {ends_at.isoformat()} is not after starts_at {starts_at.isoformat()}"
    if start <= now:
        return f"starts_at {starts_at.isoformat()} is in the past"
    return ahead_problem("starts_at", starts_at, now) or ahead_problem("ends_at", ends_at, now)


def ahead_problem(name: str, value: datetime, now: datetime) -> str | None:
    """Why the aware ``value`` is too far from ``now`` to be planned; None when it is not."""
    try:
        ahead = value.astimezone(UTC) - now.astimezone(UTC)
    except OverflowError:
        return _out_of_range(name, value)
    if ahead > MAX_AHEAD:
        return (
            f"{name} {value.isoformat()} is more than {MAX_AHEAD_YEARS} years "
            f"({MAX_AHEAD.days} days) ahead"
        )
    return None


def _out_of_range(name: str, value: datetime) -> str:
    return f"{name} {value.isoformat()} is out of range"


def reminder_problem(offset: object) -> str | None:
    """Why ``offset`` cannot be a reminder offset (a positive whole-second duration of at most
    ``MAX_REMINDER``); None when it can."""
    if not isinstance(offset, timedelta) or offset <= timedelta(0):
        return f"reminder offset {offset!r} must be a positive duration"
    if offset % timedelta(seconds=1):
        return f"reminder offset {offset} must be whole seconds"
    if offset > MAX_REMINDER:
        return f"reminder offset {offset} is longer than {MAX_REMINDER.days} days"
    return None
