"""Reading what a user types: times, durations, statuses, and bookings from a CSV file.

Every problem becomes a ``UsageError`` (or argparse's type error) with one line that names it.
"""

from __future__ import annotations

import argparse
import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

from booking_notifications.durations import parse_duration, parse_durations
from booking_notifications.requests import DEFAULT_REMINDERS, BookingRequest, check_time_zone
from booking_notifications.workflows.types import NoticeStatus

CSV_REQUIRED = ("chat_id", "title", "start", "end")


class UsageError(Exception):
    """Bad arguments or input: printed as one line, exit status 2."""


def read_csv(path: Path, args: argparse.Namespace) -> list[BookingRequest]:
    """Bookings from a CSV file; the first bad line stops everything, named by its number."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in CSV_REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise UsageError(f"{path}: missing column(s) {', '.join(missing)}")
            requests = []
            now = datetime.now(UTC)
            for row in reader:
                line = reader.line_num
                try:
                    chat_id = integer(row["chat_id"] or "")
                    request = booking_request(
                        chat_id,
                        row["title"] or None,
                        row["start"],
                        row["end"],
                        row.get("reminders") or args.reminders,
                        row.get("tz") or args.tz,
                        args,
                    )
                    requests.append(request.validated(now))
                except (ValueError, UsageError, argparse.ArgumentTypeError) as err:
                    raise UsageError(f"{path}, line {line}: {err}") from None
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror}") from None
    if not requests:
        raise UsageError(f"{path} holds no bookings")
    return requests


def booking_request(
    chat_id: int,
    title: str | None,
    start: str | None,
    end: str | None,
    reminders: str | None,
    tz: str | None,
    args: argparse.Namespace,
) -> BookingRequest:
    if not start or not end:
        raise UsageError("both --start and --end are needed")
    return BookingRequest(
        chat_id=chat_id,
        starts_at=moment(start, tz),
        ends_at=moment(end, tz),
        title=title,
        reminders=DEFAULT_REMINDERS if reminders is None else reminder_offsets(reminders),
        start_notice=not args.no_start_notice,
        end_notice=not args.no_end_notice,
        time_zone=tz,
        language=args.lang,
        ref=getattr(args, "ref", None) if args.from_file is None else None,
    )


def reminder_offsets(text: str) -> list[timedelta]:
    try:
        return parse_durations(text)
    except ValueError as err:
        raise UsageError(f"--reminders: {err}") from None


def moment(text: str, tz: str | None) -> datetime:
    """An ISO time; one without an offset is read in ``tz`` (UTC when none is given)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"{text!r} is not an ISO time like 2026-11-29T10:00 or 2026-11-29T10:00+01:00"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=check_time_zone(tz) if tz else UTC)
    return value


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
