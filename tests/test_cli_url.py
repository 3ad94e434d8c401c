"""``book --url`` and a CSV ``url`` column give a booking its page, as ``BookingRequest.url``
does; a URL that is not a web page is refused in one line before anything is written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from booking_notifications.db.models import Booking
from booking_notifications.db.session import make_engine, make_sessions
from tests.support.cli import iso, run_cli

pytestmark = pytest.mark.backends("sqlite")
PAGE = "https://bookings.example.org/b/42"


async def _urls(db_url: str) -> list[str | None]:
    engine = make_engine(db_url)
    try:
        async with make_sessions(engine)() as session:
            return list(await session.scalars(select(Booking.url).order_by(Booking.id)))
    finally:
        await engine.dispose()


async def test_book_with_a_url_and_a_file_with_a_url_column(
    cli_stack_env: dict[str, str], db_url: str, tmp_path: Path
) -> None:
    start = datetime.now(UTC) + timedelta(days=2)
    times = ("--start", iso(start), "--end", iso(start + timedelta(hours=1)))
    one = await run_cli(
        "book", "--chat-id", "8301", *times, "--url", PAGE, "--json", env=cli_stack_env
    )
    bad = await run_cli("book", "--chat-id", "8302", *times, "--url", "ftp://x", env=cli_stack_env)
    path = tmp_path / "bookings.csv"
    path.write_text(
        f"chat_id,title,start,end,url\n8303,Court 1,{iso(start)},{iso(start + timedelta(hours=1))},"
        f"{PAGE}?row=2\n",
        encoding="utf-8",
    )
    from_file = await run_cli("book", "--from-file", str(path), "--json", env=cli_stack_env)
    with_file = await run_cli(
        "book", "--from-file", str(path), "--url", PAGE, "--json", env=cli_stack_env
    )

    assert one == (0, '{"booking_id": 1}\n', "")
    assert bad[0] == 2 and bad[2].count("\n") == 1 and "url" in bad[2]
    assert from_file == (0, '{"booking_id": [2]}\n', "")
    assert with_file[0] == 2 and "--url" in with_file[2]
    assert await _urls(db_url) == [PAGE, f"{PAGE}?row=2"]
