"""The CSV reader as a class: any valid bookings, written as any spreadsheet writes them, read back
as the same requests; and any file at all is bookings or one line naming it, never a traceback."""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from booking_notifications.api.requests import DEFAULT_REMINDERS, BookingRequest
from booking_notifications.cli import csvfile, decoding, parser
from booking_notifications.cli.inputs import UsageError
from booking_notifications.core.durations import parse_durations
from booking_notifications.core.wallclock import exists

OPTIONAL = ("reminders", "tz", "lang", "quiet_hours", "ref")
ZONES = ("UTC", "Europe/Berlin", "Asia/Tokyo", "America/New_York")
LANGUAGES = ("en", "ru", "pt_BR")
QUIET_HOURS = ("22:00-08:00", "23:30-07:00")
REMINDERS = ("24h", "1h", "30m", "90s", "2d", "1h30m")


@dataclass(frozen=True)
class Encoding:
    """How a spreadsheet turns text into bytes, and the option the user then gives (if any)."""

    name: str
    encode: Callable[[str], bytes]
    codec: str
    option: tuple[str, ...] = ()


ENCODINGS = (
    Encoding("UTF-8 (LibreOffice, Google Sheets)", lambda t: t.encode(), "utf-8"),
    Encoding("CSV UTF-8 (Excel)", lambda t: codecs.BOM_UTF8 + t.encode(), "utf-8"),
    Encoding("Unicode text (Excel)", lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"), "utf-16"),
    Encoding("UTF-16 big-endian", lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"), "utf-16"),
    Encoding("CSV on Russian Windows", lambda t: t.encode("cp1251"), "cp1251", ("--encoding", "cp1251")),
)  # fmt: skip


@dataclass(frozen=True)
class Dialect:
    delimiter: str
    lineterminator: str
    quote_all: bool


dialects = st.builds(
    Dialect, st.sampled_from([",", ";", "\t"]), st.sampled_from(["\r\n", "\n"]), st.booleans()
)


def cell_text(codec: str, max_size: int) -> st.SearchStrategy[str]:
    """Text a valid title or ref holds as written: any printable characters of the encoding
    (control characters are refused by validation, tested there), not blank, none at either end
    trimmed, and runs of blanks single (a title is read as one line)."""
    characters = st.characters(codec=codec, exclude_categories=("Cc", "Cs"))
    return (
        st.text(characters, min_size=1, max_size=max_size)
        .map(lambda text: " ".join(text.split()))
        .filter(lambda text: not all(unicodedata.category(c) == "Cf" for c in text))
    )


@st.composite
def bookings(
    draw: st.DrawFn, codec: str, columns: frozenset[str], cli: dict[str, str]
) -> tuple[dict[str, str], BookingRequest]:
    """One row's cells, and the request it must read back as under the command line ``cli``."""

    def maybe(column: str, values: st.SearchStrategy[str]) -> str | None:
        return draw(st.none() | values) if column in columns else None

    title = draw(st.none() | cell_text(codec, 60))
    reminders = maybe("reminders", st.lists(st.sampled_from(REMINDERS), min_size=1, max_size=3, unique=True).map(",".join))  # fmt: skip
    tz = maybe("tz", st.sampled_from(ZONES))
    lang = maybe("lang", st.sampled_from(LANGUAGES))
    quiet = maybe("quiet_hours", st.sampled_from(QUIET_HOURS))
    ref = maybe("ref", cell_text(codec, 30))
    zone = tz or cli.get("tz")
    local = draw(st.datetimes(min_value=datetime(2031, 1, 1), max_value=datetime(2090, 1, 1)))
    offset = draw(st.none() | st.integers(-12 * 4, 14 * 4).map(lambda q: timezone(timedelta(minutes=15 * q))))  # fmt: skip
    starts_at = local.replace(tzinfo=offset or (ZoneInfo(zone) if zone else ZoneInfo("UTC")))
    ends_at = starts_at + draw(st.integers(1, 10**7).map(lambda s: timedelta(seconds=s)))
    assume(offset or (exists(starts_at) and exists(ends_at)))  # a valid booking names real times

    def written(moment: datetime) -> str:
        return (moment if offset else moment.replace(tzinfo=None)).isoformat()

    reminder_text = reminders if reminders is not None else cli.get("reminders")
    cells = {
        "chat_id": str(draw(st.integers(-(2**52) + 1, 2**52 - 1).filter(bool))),
        "title": title or "",
        "start": written(starts_at),
        "end": written(ends_at),
        "reminders": reminders or "",
        "tz": tz or "",
        "lang": lang or "",
        "quiet_hours": quiet or "",
        "ref": ref or "",
    }
    request = BookingRequest(
        chat_id=int(cells["chat_id"]),
        starts_at=starts_at,
        ends_at=ends_at,
        title=title,
        reminders=DEFAULT_REMINDERS if reminder_text is None else parse_durations(reminder_text),
        start_notice="--no-start-notice" not in cli,
        time_zone=zone,
        language=lang or cli.get("lang"),
        quiet_hours=quiet or cli.get("quiet_hours"),
        ref=ref,
    )
    return cells, request


def header_spelling(column: str) -> st.SearchStrategy[str]:
    """How people write our column names: any case, spaces or dashes for underscores, padding."""
    return st.sampled_from(
        [column, column.upper(), column.replace("_", " ").title(), column.replace("_", "-"), f" {column} "]
    )  # fmt: skip


def record(cells: list[str], dialect: Dialect) -> str:
    """One row as a spreadsheet writes it: a cell holding a line break of any kind is quoted.

    (Python's writer quotes only the characters of its own line terminator, so it writes with
    CR LF and the terminator is swapped afterwards.)
    """
    out = io.StringIO()
    csv.writer(
        out,
        delimiter=dialect.delimiter,
        lineterminator="\r\n",
        quoting=csv.QUOTE_ALL if dialect.quote_all else csv.QUOTE_MINIMAL,
    ).writerow(cells)
    return out.getvalue().removesuffix("\r\n") + dialect.lineterminator


@st.composite
def files(draw: st.DrawFn) -> tuple[bytes, list[str], list[BookingRequest], str]:
    """A file as some spreadsheet writes it, the options to read it with, and what it holds."""
    encoding = draw(st.sampled_from(ENCODINGS))
    dialect = draw(dialects)
    optional = draw(st.sets(st.sampled_from(OPTIONAL)))
    columns = draw(st.permutations(["chat_id", "title", "start", "end", *sorted(optional)]))
    cli = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "tz": st.sampled_from(ZONES),
                "lang": st.sampled_from(LANGUAGES),
                "reminders": st.sampled_from(["2h", "3h,15m", ""]),
                "quiet_hours": st.sampled_from(QUIET_HOURS),
                "--no-start-notice": st.just(""),
            },
        )
    )
    rows = draw(
        st.lists(bookings(encoding.codec, frozenset(optional), cli), min_size=1, max_size=6)
    )
    end = dialect.lineterminator
    blank = st.sampled_from(["", dialect.delimiter * len(columns), " " + dialect.delimiter * 2])
    lines = [f"sep={dialect.delimiter}{end}"] if draw(st.booleans()) else []
    lines += [b + end for b in draw(st.lists(blank, max_size=2))]
    lines.append(record([draw(header_spelling(c)) for c in columns], dialect))
    for cells, _ in rows:
        lines += [b + end for b in draw(st.lists(blank, max_size=2))]
        lines.append(record([cells[c] for c in columns], dialect))
    lines += [b + end for b in draw(st.lists(blank, max_size=2))]
    options = [*encoding.option]
    for name, value in cli.items():
        options += [name] if name.startswith("--") else [f"--{name.replace('_', '-')}", value]
    text = "".join(lines)
    return encoding.encode(text), options, [request for _, request in rows], encoding.name


def read(path: Path, options: list[str]) -> list[BookingRequest]:
    return csvfile.read_csv(path, parser().parse_args(["book", "--from-file", str(path), *options]))


@pytest.fixture(scope="module")
def path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("csv") / "bookings.csv"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files())
def test_valid_bookings_written_by_any_spreadsheet_read_back_as_the_same_requests(
    path: Path, file: tuple[bytes, list[str], list[BookingRequest], str]
) -> None:
    data, options, requests, _ = file
    # An 8-bit file whose every non-ASCII byte run happens to be valid UTF-8 is read as UTF-8 by
    # design (refused with --encoding cp1251); real Cyrillic text never is, random text can be.
    assume("--encoding" not in options or not decoding.is_utf8(data))
    path.write_bytes(data)
    assert read(path, options) == requests


JUNK = st.sampled_from(
    ["chat_id", "title", "start", "end", "tz", "Chat ID", "ref", ",", ";", "\t", '"', '""', "\n",
     "\r\n", "\r", " ", "42", "0", "x", "2031-03-01T10:00", "2031-03-01T09:00+01:00", "1h", "Europe/Berlin",
     "sep=;", "\x00", "é", "Корт", "\ufeff", "24h,1h", "22:00-08:00"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.tuples(
            st.lists(JUNK, max_size=60).map("".join),
            st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1251", "latin-1"]),
        ).map(lambda pair: pair[0].encode(pair[1], errors="replace")),
    ),
    st.sampled_from([[], ["--skip-bad-rows"], ["--encoding", "cp1251"], ["--tz", "Asia/Tokyo"]]),
)
def test_any_file_is_bookings_or_one_line_naming_it(
    path: Path, data: bytes, options: list[str]
) -> None:
    path.write_bytes(data)
    try:
        requests = read(path, options)
    except UsageError as err:
        assert str(err).startswith(str(path)) and "\n" not in str(err)
    else:
        assert requests and all(isinstance(r, BookingRequest) for r in requests)
