"""Bookings from the CSV files spreadsheets write: each file as Excel, LibreOffice or a hand writes it.

The round trip of random bookings through every dialect and encoding is in test_csv_properties.py.
"""

from __future__ import annotations

import codecs
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from booking_notifications.api.requests import BookingRequest, InvalidBooking
from booking_notifications.cli import csvfile, parser
from booking_notifications.cli.inputs import UsageError
from tests.support.cli import cli_env, run_cli

START = datetime(2031, 3, 1, 10, tzinfo=UTC)
END = START + timedelta(hours=1)
S, E = START.isoformat(), END.isoformat()


def write(folder: Path, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = folder / "bookings.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def read(path: Path, *options: str) -> list[BookingRequest]:
    """What ``booking-notify book --from-file PATH OPTIONS`` would schedule."""
    args = parser().parse_args(["book", "--from-file", str(path), *options])
    return csvfile.read_csv(path, args)


def refusal(path: Path, *options: str) -> str:
    """The one line a refused file gets."""
    with pytest.raises((UsageError, InvalidBooking)) as caught:
        read(path, *options)
    message = str(caught.value)
    assert "\n" not in message
    return message


def booking(chat_id: int = 42, title: str | None = "Court 3", **fields: object) -> BookingRequest:
    return BookingRequest(chat_id=chat_id, starts_at=START, ends_at=END, title=title, **fields)  # type: ignore[arg-type]


# Encodings: what each spreadsheet writes.


def test_excel_csv_utf8_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path, codecs.BOM_UTF8 + f"chat_id,title,start,end\r\n42,Корт 3,{S},{E}\r\n".encode()
    )
    assert read(path) == [booking(title="Корт 3")]


def test_excel_unicode_text_utf16_tab_separated_is_read(tmp_path: Path) -> None:
    text = f"chat_id\ttitle\tstart\tend\r\n42\tКорт 3\t{S}\t{E}\r\n"
    path = write(tmp_path, codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    assert read(path) == [booking(title="Корт 3")]


def test_a_cp1251_file_is_read_when_its_encoding_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, f"chat_id;title;start;end\r\n42;Корт 3;{S};{E}\r\n", "cp1251")
    assert read(path, "--encoding", "cp1251") == [booking(title="Корт 3")]


def test_a_cp1251_file_without_its_encoding_names_the_line_and_the_way_out(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path, f"chat_id,title,start,end\n41,Court 1,{S},{E}\n42,Корт 3,{S},{E}\n", "cp1251"
    )
    message = refusal(path)
    assert message.startswith(f"{path}, line 3: byte 0xca is not UTF-8")
    assert "--encoding cp1251" in message


def test_a_utf8_file_read_with_a_legacy_encoding_is_refused_not_garbled(tmp_path: Path) -> None:
    path = write(tmp_path, f"chat_id,title,start,end\n42,Корт 3,{S},{E}\n")
    message = refusal(path, "--encoding", "cp1251")
    assert message == f"{path} is UTF-8, not cp1251: leave out --encoding"


def test_an_encoding_that_does_not_fit_names_the_byte_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, f"chat_id,title,start,end\n\n42,Café,{S},{E}\n", "cp1252")
    assert refusal(path, "--encoding", "ascii").startswith(
        f"{path}, line 3: byte 0xe9 is not ascii"
    )


def test_an_unknown_encoding_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, f"chat_id,title,start,end\n42,Court 3,{S},{E}\n")
    assert refusal(path, "--encoding", "cp-1251") == "--encoding: unknown encoding 'cp-1251'"
    assert refusal(path, "--encoding", "base64") == "--encoding: unknown encoding 'base64'"


def test_a_byte_order_mark_says_what_the_file_is_whatever_encoding_is_named(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path, codecs.BOM_UTF8 + f"chat_id,title,start,end\n42,Корт 3,{S},{E}\n".encode()
    )
    assert read(path, "--encoding", "cp1251") == [booking(title="Корт 3")]


def test_utf16_without_a_byte_order_mark_gets_a_hint_not_missing_columns(tmp_path: Path) -> None:
    path = write(tmp_path, f"chat_id,title,start,end\n42,Court,{S},{E}\n", "utf-16-le")
    message = refusal(path)
    assert message.startswith(f"{path}, line 1: NUL characters")
    assert "--encoding utf-16-le" in message


# Dialects: delimiters, line ends, quotes, blank rows.


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_comma_semicolon_and_tab_with_any_line_end_are_read(
    tmp_path: Path, delimiter: str, newline: str
) -> None:
    rows = [["chat_id", "title", "start", "end", "reminders"], ["42", "Court 3", S, E, "2h"]]
    text = newline.join(delimiter.join(row) for row in rows) + newline
    assert read(write(tmp_path, text)) == [booking(reminders=[timedelta(hours=2)])]


def test_a_quoted_cell_keeps_its_delimiters_and_quotes_and_its_lines_join(tmp_path: Path) -> None:
    title = 'Court 3; "the big one", by the lake'  # a title is one line of a message
    text = f'chat_id;title;start;end;reminders\r\n42;"Court 3; ""the big one"",\nby the lake";{S};{E};"24h,1h"\r\n'
    assert read(write(tmp_path, text)) == [
        booking(title=title, reminders=[timedelta(hours=24), timedelta(hours=1)])
    ]


def test_blank_and_all_empty_rows_are_skipped_anywhere(tmp_path: Path) -> None:
    text = f"\r\nchat_id,title,start,end\r\n,,,\r\n42,Court 3,{S},{E}\r\n\r\n , , ,\r\n,,,\r\n,,,,,,\r\n"
    assert read(write(tmp_path, text)) == [booking()]


def test_excel_sep_line_names_the_delimiter(tmp_path: Path) -> None:
    text = f"sep=;\r\nchat_id;title;start;end\r\n42;Court 3, indoor;{S};{E}\r\n"
    assert read(write(tmp_path, text)) == [booking(title="Court 3, indoor")]


def test_a_bad_row_is_named_by_the_line_it_starts_on(tmp_path: Path) -> None:
    text = f'chat_id,title,start,end\n\n41,"two\nlines",{S},{E}\n,,,\n42,Court 3,{E},{S}\n'
    assert refusal(write(tmp_path, text)).startswith(
        f"{tmp_path / 'bookings.csv'}, line 6: ends_at"
    )


def test_an_unclosed_quote_is_named_instead_of_swallowing_the_rest(tmp_path: Path) -> None:
    text = f'chat_id,start,end,title\n41,{S},{E},"Court 1\n42,{S},{E},Court 2\n'
    message = refusal(write(tmp_path, text))
    assert message.startswith(f"{tmp_path / 'bookings.csv'}, line 2: a quote is never closed")


def test_cells_beyond_the_header_are_refused_as_a_likely_unquoted_delimiter(tmp_path: Path) -> None:
    text = f"chat_id,start,end,title\n42,{S},{E},Court 3, indoor\n43,{S},{E},Court 4,,\n"
    message = refusal(write(tmp_path, text))
    assert message == (
        f"{tmp_path / 'bookings.csv'}, line 2: 5 cells but the header names 4 "
        "(a cell holding ',' needs quotes)"
    )


def test_when_every_row_is_skipped_the_refusal_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, f"chat_id,title,start,end\n0,,{S},{E}\nx,,{S},{E}\n")
    assert refusal(path, "--skip-bad-rows") == f"{path}: every row is bad; nothing is scheduled"
    assert capsys.readouterr().err.count("booking-notify: skipped") == 2


# Headers.


def test_header_names_ignore_case_spaces_and_dashes(tmp_path: Path) -> None:
    text = f"Chat ID, Title ,START,end,Quiet-Hours\n42,Court 3,{S},{E},22:00-08:00\n"
    assert read(write(tmp_path, text)) == [booking(quiet_hours="22:00-08:00")]


def test_columns_in_any_order_and_the_ref_column(tmp_path: Path) -> None:
    text = f"end,ref,start,chat_id,title\n{E},order-7,{S},42,Court 3\n"
    assert read(write(tmp_path, text)) == [booking(ref="order-7")]


def test_every_ignored_column_is_named_with_a_hint_for_a_likely_misspelling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        f"chat_id,title,start,end,timezone,notes,Remindres,\n42,Court 3,{S},{E},Asia/Tokyo,x,1h,\n"
    )
    path = write(tmp_path, text)

    assert read(path) == [booking()]
    assert capsys.readouterr().err == (
        f"booking-notify: {path}: ignored column 'timezone' (did you mean tz?), column 'notes', "
        "column 'Remindres' (did you mean reminders?)\n"
    )


def test_an_unnamed_column_holding_values_is_named_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = f"chat_id,title,start,end,,\n42,Court 3,{S},{E},,\n43,Court 3,{S},{E},,note\n"
    path = write(tmp_path, text)

    assert len(read(path)) == 2
    assert capsys.readouterr().err == f"booking-notify: {path}: ignored unnamed column 6\n"


def test_a_duplicated_header_is_refused(tmp_path: Path) -> None:
    text = f"chat_id,title,start,end,TZ,tz\n42,Court 3,{S},{E},UTC,Asia/Tokyo\n"
    path = write(tmp_path, text)
    assert refusal(path) == f"{path}, line 1: column tz is given twice (columns 5 and 6)"


def test_missing_columns_are_named_with_the_header_found(tmp_path: Path) -> None:
    path = write(tmp_path, f"chat_id,start,end\n42,{S},{E}\n")
    assert refusal(path) == (
        f"{path}, line 1: missing column(s) title (the header reads 'chat_id,start,end')"
    )


def test_a_header_with_another_delimiter_gets_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path, f"\nchat_id|title|start|end\n42|Court 3|{S}|{E}\n")
    assert refusal(path) == (
        f"{path}, line 2: missing column(s) chat_id or user, title, start, end "
        "(the header reads 'chat_id|title|start|end'; separate columns with , ; or tab)"
    )


@pytest.mark.parametrize("text", ["", "\r\n\r\n", ",,,\n"])
def test_a_file_without_a_header_is_refused(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    assert refusal(path) == f"{path} holds no header: chat_id,title,start,end (or user for chat_id)"


# Empty cells and the command line.


def test_an_empty_title_cell_is_no_title(tmp_path: Path) -> None:
    path = write(tmp_path, f"chat_id,title,start,end\n42,,{S},{E}\n")
    assert read(path) == [booking(title=None)]


@pytest.mark.parametrize("option", ["--title", "--start", "--end", "--ref"])
def test_per_booking_options_are_refused_with_a_file(tmp_path: Path, option: str) -> None:
    path = write(tmp_path, f"chat_id,title,start,end\n42,,{S},{E}\n")
    assert refusal(path, option, S).startswith(f"{option} cannot be used with --from-file")


def test_file_wide_options_fill_the_empty_cells_only(tmp_path: Path) -> None:
    text = (
        "chat_id,title,start,end,reminders,tz,lang,quiet_hours\n"
        "41,Court 3,2031-03-01T11:00,2031-03-01T12:00,,,,\n"
        "42,Court 3,2031-03-01T19:00,2031-03-01T20:00,1h,Asia/Tokyo,en,23:00-07:00\n"
    )
    options = [
        "--tz",
        "Europe/Berlin",
        "--reminders",
        "2h",
        "--lang",
        "ru",
        "--quiet-hours",
        "22:00-08:00",
    ]
    tokyo = ZoneInfo("Asia/Tokyo")
    assert read(write(tmp_path, text), *options) == [
        booking(41, reminders=[timedelta(hours=2)], time_zone="Europe/Berlin", language="ru", quiet_hours="22:00-08:00"),
        BookingRequest(
            chat_id=42, starts_at=datetime(2031, 3, 1, 19, tzinfo=tokyo), ends_at=datetime(2031, 3, 1, 20, tzinfo=tokyo),
            title="Court 3", reminders=[timedelta(hours=1)], time_zone="Asia/Tokyo", language="en", quiet_hours="23:00-07:00",
        ),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--tz", "Mars/Base"], "--tz: unknown time zone 'Mars/Base'"),
        (["--reminders", "soon"], "--reminders: 'soon' is not a duration"),
        (["--reminders", "1h,60m"], "--reminders: reminder offset 1h is given twice"),
        (["--lang", "klingon!"], "--lang: unknown language 'klingon!'"),
        (["--quiet-hours", "night"], "--quiet-hours: quiet hours 'night' must look like"),
    ],
)
def test_a_bad_file_wide_option_is_named_once_not_on_every_line(
    tmp_path: Path, options: list[str], message: str
) -> None:
    path = write(tmp_path, f"chat_id,title,start,end\n42,,{S},{E}\n")
    assert refusal(path, *options, "--skip-bad-rows").startswith(message)


def test_a_bad_reminders_cell_is_named_as_the_column_not_the_option(tmp_path: Path) -> None:
    path = write(tmp_path, f"chat_id,title,start,end,reminders\n42,,{S},{E},soon\n")
    assert refusal(path, "--reminders", "1h").startswith(
        f"{path}, line 2: reminders: 'soon' is not a duration"
    )


@pytest.mark.parametrize("column", ["chat_id", "start", "end"])
def test_an_empty_needed_cell_is_named(tmp_path: Path, column: str) -> None:
    cells = {"chat_id": "42", "title": "Court 3", "start": S, "end": E, column: " "}
    path = write(tmp_path, "chat_id,title,start,end\n" + ",".join(cells.values()) + "\n")
    assert refusal(path) == f"{path}, line 2: {column} is empty"


# Through the real command: the wiring, and one line with exit status 2 before any connection.


@pytest.mark.slow
async def test_book_from_an_excel_file_with_a_bad_line_names_it_and_exits_2(
    tmp_path: Path,
) -> None:
    text = f"Chat ID;Title;Start;End\r\n42;Корт 3;{S};{E}\r\n;;;\r\n43;Корт 4;{E};{S}\r\n"
    path = write(tmp_path, codecs.BOM_UTF8 + text.encode())
    env = cli_env(TEMPORAL_ADDRESS="127.0.0.1:1", DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")

    code, out, err = await run_cli("book", "--from-file", str(path), env=env, cwd=tmp_path)

    assert (code, out) == (2, "")
    assert err.startswith(f"booking-notify: {path}, line 4: ends_at") and err.count("\n") == 1


@pytest.mark.slow
async def test_file_options_without_a_file_are_refused_in_one_line(tmp_path: Path) -> None:
    env = cli_env(DATABASE_URL=f"sqlite:///{tmp_path}/x.db")
    args = ["book", "--chat-id", "42", "--start", "2030-01-01T10:00", "--end", "2030-01-01T11:00"]
    for option in (["--encoding", "cp1251"], ["--skip-bad-rows"]):
        code, out, err = await run_cli(*args, *option, env=env, cwd=tmp_path)
        assert (code, out) == (2, "")
        assert err == "booking-notify: --skip-bad-rows and --encoding go with --from-file\n"


# Owners: a chat id, or the user's key in the booking service.


def test_a_user_column_names_owners_by_their_key(tmp_path: Path) -> None:
    text = f"user,title,start,end\ncustomer-7,Court 3,{S},{E}\n"
    [request] = read(write(tmp_path, text))

    assert (request.chat_id, request.user_ref) == (None, "customer-7")


def test_chat_id_and_user_columns_mix_row_by_row(tmp_path: Path) -> None:
    text = f"chat_id,user,title,start,end\n42,,Court 3,{S},{E}\n,c-8,Court 4,{S},{E}\n"
    owners = [(r.chat_id, r.user_ref) for r in read(write(tmp_path, text))]

    assert owners == [(42, None), (None, "c-8")]


@pytest.mark.parametrize(
    ("row", "problem"),
    [("42,c-8", "both are given"), (",", "both are empty")],
)
def test_a_row_gives_one_owner(tmp_path: Path, row: str, problem: str) -> None:
    text = f"chat_id,user,title,start,end\n{row},Court 3,{S},{E}\n"

    assert refusal(write(tmp_path, text)).endswith(
        f"give chat_id or user, one of the two ({problem})"
    )


def test_a_file_without_an_owner_column_names_both(tmp_path: Path) -> None:
    text = f"title,start,end\nCourt 3,{S},{E}\n"

    assert "missing column(s) chat_id or user" in refusal(write(tmp_path, text))
