"""Bookings from a CSV file as spreadsheets write it; every row checked before any is scheduled.

What is read, and why:

* **Encodings.** As its byte order mark says, else as ``--encoding`` says, else UTF-8; nothing
  is guessed (``cli/decoding.py`` says why).
* **Dialects.** The delimiter is whichever of ``,`` ``;`` and tab splits the header into the most
  known column names, unless Excel's ``sep=;`` first line names it. Quotes as Excel writes them,
  cells spanning lines, any line end. A quote never closed is an error, not a cell that swallows
  the rest of the file.
* **Headers.** Names ignore case and padding, and a space, a dash and an underscore are one
  (``Chat ID`` is ``chat_id``). A name given twice is an error; every ignored column is named in
  a warning line, a likely misspelling with a hint.
* **Rows.** Blank and all-empty rows (``,,,``) are skipped and cells are trimmed. An empty cell is
  not given: ``--reminders``, ``--tz``, ``--lang`` and ``--quiet-hours`` fill it for every row (one
  venue's zone, say), while the options that name one booking — ``--title``, ``--start``,
  ``--end``, ``--ref`` — are refused with a file. Non-empty cells beyond the header are an error:
  most likely a delimiter inside a cell that lacks quotes, which shifts the columns.

Every problem is one ``UsageError`` line naming the file and the line its record starts on; the
batch is all or nothing unless ``--skip-bad-rows`` asks for the good rows.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import io
import re
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from booking_notifications.api.requests import (
    BookingRequest,
    check_language,
    check_reminders,
    check_time_zone,
)
from booking_notifications.cli.decoding import decode
from booking_notifications.cli.inputs import UsageError, booking_request, given
from booking_notifications.core.durations import parse_durations
from booking_notifications.core.quiet import QuietHours

REQUIRED = ("title", "start", "end")
OWNERS = ("chat_id", "user")
"""A row's owner: a Telegram chat id, or the user's key in the booking service (``user_ref``)."""
COLUMNS = (*OWNERS, *REQUIRED, "reminders", "tz", "lang", "quiet_hours", "ref", "url")
NEEDED_CELLS = ("start", "end")
HEADER = "chat_id,title,start,end (or user for chat_id)"
"""The header a file needs, as error messages show it."""
PER_BOOKING = ("title", "start", "end", "ref", "url")
"""Options that name one booking: with a file each row gives its own, so they are refused."""
FILE_WIDE: dict[str, Callable[[str], object]] = {
    "reminders": lambda text: check_reminders(parse_durations(text)),
    "tz": check_time_zone,
    "lang": check_language,
    "quiet_hours": QuietHours.parse,
}
"""Options that fill an empty cell on every row, each with the check it passes once, up front."""
LIKELY = {
    **dict.fromkeys(("timezone", "time_zone", "zone"), "tz"),
    **dict.fromkeys(("language", "locale"), "lang"),
    **dict.fromkeys(("chat", "telegram_id", "telegram_chat"), "chat_id"),
    **dict.fromkeys(("user_id", "user_ref", "customer", "client", "account"), "user"),
    **dict.fromkeys(("name", "subject", "booking"), "title"),
    **dict.fromkeys(("starts_at", "start_time", "start_date", "begin", "from"), "start"),
    **dict.fromkeys(("ends_at", "end_time", "end_date", "finish", "until", "to"), "end"),
    **dict.fromkeys(("quiet", "quiet_time"), "quiet_hours"),
    **dict.fromkeys(("reference", "external_id", "order"), "ref"),
    **dict.fromkeys(("link", "page", "booking_url"), "url"),
}
"""Names people give our columns that no spelling distance finds."""
DELIMITERS = (",", ";", "\t")
_SEP_LINE = re.compile(r"sep=(.)\r?\n?", re.IGNORECASE)
_EMPTY_LINE = re.compile(r'[\s,;"]*')


def read_csv(path: Path, args: argparse.Namespace) -> list[BookingRequest]:
    """The file's bookings, each validated; a bad row stops everything unless --skip-bad-rows."""
    defaults = file_wide_defaults(args)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror}") from None
    records = Records(path, decode(path, data, args.encoding))
    header_line, header = next(records)
    columns = column_indexes(path, header_line, header, records.header_text)
    # Named before any row is read: an ignored "timezone" column explains a row's odd times.
    unknown = [name for i, name in enumerate(header) if name and i not in columns.values()]
    ignore(path, [f"column {name!r}{hint(name)}" for name in unknown])
    unnamed: set[int] = set()
    requests = []
    skipped = 0
    now = datetime.now(UTC)
    for line, cells in records:
        if not any(cells):
            continue
        unnamed.update(i for i, cell in enumerate(cells[: len(header)]) if cell and not header[i])
        try:
            fields = {**defaults, **row_fields(cells, columns, len(header), records.delimiter)}
            requests.append(booking_request(fields, args).validated(now))
        except (ValueError, UsageError, argparse.ArgumentTypeError) as err:
            problem = f"{path}, line {line}: {err}"
            if not args.skip_bad_rows:
                raise UsageError(problem) from None
            print(f"booking-notify: skipped {problem}", file=sys.stderr)
            skipped += 1
    ignore(path, [f"unnamed column {i + 1}" for i in sorted(unnamed)])
    if not requests:
        raise UsageError(
            f"{path}: every row is bad; nothing is scheduled"
            if skipped
            else f"{path} holds no bookings"
        )
    return requests


def ignore(path: Path, columns: list[str]) -> None:
    """One warning line naming the columns that are read past."""
    if columns:
        print(f"booking-notify: {path}: ignored {', '.join(columns)}", file=sys.stderr)


def file_wide_defaults(args: argparse.Namespace) -> dict[str, str]:
    """The command line's values for empty cells, checked here once rather than on every row."""
    for column in PER_BOOKING:
        if getattr(args, column) is not None:
            raise UsageError(
                f"--{column} cannot be used with --from-file: each row gives its own {column}"
            )
    defaults = {k: v for k, v in given(args).items() if k in FILE_WIDE}
    for column, value in defaults.items():
        try:
            FILE_WIDE[column](value)
        except ValueError as err:
            raise UsageError(f"--{column.replace('_', '-')}: {err}") from None
    return defaults


class Records(Iterator[tuple[int, list[str]]]):
    """The file's records, cells trimmed, each with the line it starts on; the header comes first.

    Lines before the header that hold nothing (and Excel's ``sep=`` line) are passed over; the
    delimiter is then chosen from the header line.
    """

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        stream = io.StringIO(text, newline="")
        self.offset = 0
        self.delimiter = ""
        if sep := _SEP_LINE.fullmatch(stream.readline()):
            self.delimiter, self.offset = sep[1], 1
        else:
            stream.seek(0)
        while True:
            position = stream.tell()
            self.header_text = stream.readline()
            if not self.header_text:
                raise UsageError(f"{path} holds no header: {HEADER}")
            if not _EMPTY_LINE.fullmatch(self.header_text):
                break
            self.offset += 1
        stream.seek(position)
        self.header_text = self.header_text.rstrip("\r\n")
        self.delimiter = self.delimiter or best_delimiter(self.header_text)
        self.reader = csv.reader(
            stream, delimiter=self.delimiter, strict=True, skipinitialspace=True
        )
        self.end = 0

    def __next__(self) -> tuple[int, list[str]]:
        line = self.offset + self.end + 1
        try:
            cells = next(self.reader)
        except csv.Error as err:
            raise UsageError(f"{self.path}, line {line}: {csv_problem(err)}") from None
        self.end = self.reader.line_num
        return line, [cell.strip() for cell in cells]


def best_delimiter(header: str) -> str:
    """The delimiter that splits the header into the most known names; a comma on a tie."""

    def known(delimiter: str) -> int:
        cells = next(csv.reader([header], delimiter=delimiter), [])
        return sum(normal(cell) in COLUMNS for cell in cells)

    return max(DELIMITERS, key=known)


def csv_problem(err: csv.Error) -> str:
    text = str(err)
    if text == "unexpected end of data":
        return "a quote is never closed"
    if "expected after '\"'" in text:
        return 'text after a closing quote (a quote inside a quoted cell is written "")'
    return text


def normal(name: str) -> str:
    """A header name as we compare it: ``Chat ID``, ``chat-id`` and ``CHAT_ID`` are one."""
    return re.sub(r"[\s_-]+", "_", name.strip().lower()).strip("_")


def column_indexes(path: Path, line: int, header: list[str], text: str) -> dict[str, int]:
    """Where each known column is; a name given twice or a required one missing is an error."""
    seen: dict[str, int] = {}
    for index, name in enumerate(map(normal, header)):
        if name in seen:
            raise UsageError(
                f"{path}, line {line}: column {name} is given twice "
                f"(columns {seen[name] + 1} and {index + 1})"
            )
        if name:
            seen[name] = index
    missing = [c for c in REQUIRED if c not in seen]
    if not any(owner in seen for owner in OWNERS):
        missing.insert(0, " or ".join(OWNERS))
    if missing:
        found = f"the header reads {text!r}"
        if not any(c in seen for c in COLUMNS):
            found += "; separate columns with , ; or tab"
        raise UsageError(f"{path}, line {line}: missing column(s) {', '.join(missing)} ({found})")
    return {name: index for name, index in seen.items() if name in COLUMNS}


def hint(name: str) -> str:
    """`` (did you mean tz?)`` for a header that is likely one of our columns."""
    name = normal(name)
    guess = LIKELY.get(name) or next(
        iter(difflib.get_close_matches(name, COLUMNS, n=1, cutoff=0.75)), None
    )
    return f" (did you mean {guess}?)" if guess else ""


def row_fields(
    cells: list[str], columns: dict[str, int], width: int, delimiter: str
) -> dict[str, str]:
    """The row's non-empty cells by column; a needed cell empty or cells past the header refused."""
    used = max((i + 1 for i, cell in enumerate(cells) if cell), default=0)
    if used > width:
        raise UsageError(
            f"{used} cells but the header names {width} (a cell holding {delimiter!r} needs quotes)"
        )
    fields = {name: cells[i] for name, i in columns.items() if i < len(cells) and cells[i]}
    for name in NEEDED_CELLS:
        if name not in fields:
            raise UsageError(f"{name} is empty")
    owners = [name for name in OWNERS if name in fields]
    if len(owners) != 1:
        header = [name for name in OWNERS if name in columns]
        if not owners and len(header) == 1:
            raise UsageError(f"{header[0]} is empty")
        given = "both are given" if owners else "both are empty"
        raise UsageError(f"give chat_id or user, one of the two ({given})")
    if "reminders" in fields:  # read here too, so its error names the column, not --reminders
        try:
            parse_durations(fields["reminders"])
        except ValueError as err:
            raise UsageError(f"reminders: {err}") from None
    return fields
