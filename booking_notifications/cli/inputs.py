"""Reading what a user types: times, durations, statuses, and bookings from a CSV file.

Every problem becomes a ``UsageError`` (or argparse's type error) with one line that names it.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta

from booking_notifications.api.requests import DEFAULT_REMINDERS, BookingRequest, check_time_zone
from booking_notifications.core.domain import NoticeStatus
from booking_notifications.core.durations import parse_duration, parse_durations
from booking_notifications.core.wallclock import exists, repeated, skipped
from booking_notifications.settings import split_host_port


class UsageError(Exception):
    """Bad arguments or input: printed as one line, exit status 2."""


def given(args: argparse.Namespace) -> dict[str, str]:
    """The booking fields given on the command line, named as the CSV columns are."""
    fields = {
        "chat_id": args.chat_id,
        "user": args.user,
        "title": args.title,
        "start": args.start,
        "end": args.end,
        "reminders": args.reminders,
        "tz": args.tz,
        "lang": args.lang,
        "quiet_hours": args.quiet_hours,
        "ref": args.ref,
        "url": args.url,
    }
    return {name: str(value) for name, value in fields.items() if value is not None}


def booking_request(fields: dict[str, str], args: argparse.Namespace) -> BookingRequest:
    """A booking request from text fields (command line or CSV) and the command's switches."""
    if "start" not in fields or "end" not in fields:
        raise UsageError("both --start and --end are needed")
    tz = fields.get("tz")
    reminders = fields.get("reminders")
    return BookingRequest(
        chat_id=integer(fields["chat_id"]) if "chat_id" in fields else None,
        user_ref=fields.get("user"),
        starts_at=moment(fields["start"], tz),
        ends_at=moment(fields["end"], tz),
        title=fields.get("title"),
        reminders=DEFAULT_REMINDERS if reminders is None else reminder_offsets(reminders),
        start_notice=not args.no_start_notice,
        end_notice=not args.no_end_notice,
        time_zone=tz,
        language=fields.get("lang"),
        quiet_hours=fields.get("quiet_hours"),
        ref=fields.get("ref"),
        url=fields.get("url"),
    )


def reminder_offsets(text: str) -> list[timedelta]:
    try:
        return parse_durations(text)
    except ValueError as err:
        raise UsageError(f"--reminders: {err}") from None


def moment(text: str, tz: str | None) -> datetime:
    """An ISO time; one without an offset is read in ``tz`` (UTC when none is given).

    A reading the zone's clocks skip (a DST change) is refused; of a reading they show twice the
    first is taken, and stderr says so and how to write the second.
    """
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"{text!r} is not an ISO time like 2026-11-29T10:00 or 2026-11-29T10:00+01:00"
        ) from None
    if value.tzinfo is not None:
        return value
    value = value.replace(tzinfo=check_time_zone(tz) if tz else UTC)
    try:
        real, twice = exists(value), repeated(value)
    except OverflowError:
        raise UsageError(f"{text!r} is out of range") from None
    if not real:
        jumps_from, jumps_to = skipped(value)
        after = _offset(value.replace(fold=1))  # a skipped reading's fold 1: the new offset
        raise UsageError(
            f"{text!r} does not exist in {tz}: the clocks jump from {jumps_from:%H:%M} to "
            f"{jumps_to:%H:%M} that day; give another time, or an offset such as {after}"
        )
    if twice:
        first, second = (value.replace(fold=f).astimezone(value.tzinfo) for f in (0, 1))
        print(
            f"booking-notify: {text.strip()} comes twice in {tz}: taken as the first, "
            f"{_fixed(first)} (write {_fixed(second)} for the second)",
            file=sys.stderr,
        )
    return value


def _fixed(value: datetime) -> str:
    """An aware time as ISO text with its offset, which names one instant even in a repeat."""
    return f"{value.replace(tzinfo=None).isoformat()}{_offset(value)}"


def _offset(value: datetime) -> str:
    """The UTC offset of an aware time as ISO writes it: ``+02:00``, ``-03:30``."""
    offset = value.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds()) // 60
    return f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def status(text: str) -> NoticeStatus:
    try:
        return NoticeStatus(text.strip().upper())
    except ValueError:
        names = ", ".join(s.value for s in NoticeStatus)
        raise argparse.ArgumentTypeError(f"{text!r} is not a status: {names}") from None


def duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def integer(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def host_port(text: str) -> tuple[str, int]:
    """``HOST:PORT`` to listen on."""
    address = split_host_port(text)
    if address is None:
        raise UsageError(f"--listen {text!r} must be HOST:PORT, e.g. 0.0.0.0:8443")
    return address
