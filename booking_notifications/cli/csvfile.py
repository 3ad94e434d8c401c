"""Bookings from a CSV file: one ``BookingRequest`` per line, all checked before any is scheduled."""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import UTC, datetime
from pathlib import Path

from booking_notifications.cli.inputs import UsageError, booking_request, given
from booking_notifications.requests import BookingRequest

CSV_REQUIRED = ("chat_id", "title", "start", "end")


def read_csv(path: Path, args: argparse.Namespace) -> list[BookingRequest]:
    """Bookings from a CSV file; a bad line stops everything, named by its number.

    Columns ``chat_id,title,start,end`` and optionally ``reminders,tz,lang,quiet_hours``; an
    empty optional cell takes the command line's value. With ``--skip-bad-rows`` the bad lines
    are reported on stderr and the good ones are kept.
    """
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in CSV_REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise UsageError(f"{path}: missing column(s) {', '.join(missing)}")
            requests = []
            now = datetime.now(UTC)
            defaults = {k: v for k, v in given(args).items() if k != "ref"}
            for row in reader:
                try:
                    fields = {**defaults, **{k: v for k, v in row.items() if k and v}}
                    requests.append(booking_request(fields, args).validated(now))
                except (ValueError, UsageError, argparse.ArgumentTypeError) as err:
                    problem = f"{path}, line {reader.line_num}: {err}"
                    if not args.skip_bad_rows:
                        raise UsageError(problem) from None
                    print(f"booking-notify: skipped {problem}", file=sys.stderr)
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror}") from None
    if not requests:
        raise UsageError(f"{path} holds no bookings")
    return requests
