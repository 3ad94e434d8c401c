"""``booking-notify events`` as an operator runs it: pages, JSON lines, failed events, redelivery
and following what commits next. The database alone: no Temporal is needed to read events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from sqlalchemy import update

from booking_notifications.db.events import EventType, emit
from booking_notifications.db.models import Event
from booking_notifications.db.session import Sessions, make_engine, make_sessions
from tests.support.cli import CLI, cli_env, run_cli
from tests.support.receiver import SECRET

pytestmark = pytest.mark.backends("sqlite")
AT = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


@pytest_asyncio.fixture
async def sessions(db_url: str) -> AsyncIterator[Sessions]:
    engine = make_engine(db_url)
    yield make_sessions(engine)
    await engine.dispose()


async def _write(sessions: Sessions, type: EventType, booking_id: int, **data: object) -> None:
    async with sessions() as session:
        emit(session, type, at=AT, booking_id=booking_id, data=data)
        await session.commit()


async def test_events_pages_prints_lines_and_json_and_redelivers_what_failed(
    db_url: str, sessions: Sessions
) -> None:
    await _write(sessions, EventType.BOOKING_CANCELLED, 7, by="user", reason="rain")
    await _write(sessions, EventType.NOTICE_SENT, 8, kind="start")
    await _write(sessions, EventType.BOOKING_MOVED, 8)
    async with sessions() as session:
        await session.execute(
            update(Event).where(Event.seq == 2).values(failed_at=AT, last_error="answered 410")
        )
        await session.commit()
    env = cli_env(DATABASE_URL=db_url)

    text = await run_cli("events", env=env)
    paged = await run_cli("events", "--after", "1", "--limit", "1", "--json", env=env)
    failed = await run_cli("events", "--failed", env=env)
    again = await run_cli("events", "--failed", "--redeliver", env=env)
    none_failed = await run_cli("events", "--failed", env=env)
    bare = await run_cli("events", "--redeliver", env=env)
    hooked = env | {
        "EVENTS_WEBHOOK_URL": "https://example.org/hook",
        "EVENTS_WEBHOOK_SECRET": SECRET,
    }
    with_webhook = await run_cli("events", "--after", "2", env=hooked)

    assert text == (
        0,
        "     1  2026-12-02 10:00:00 UTC  booking.cancelled  booking 7  by=user reason=rain"
        "  [a row only: no EVENTS_WEBHOOK_URL]\n"
        "     2  2026-12-02 10:00:00 UTC  notice.sent        booking 8  [failed: answered 410]\n"
        "     3  2026-12-02 10:00:00 UTC  booking.moved      booking 8  [a row only: no "
        "EVENTS_WEBHOOK_URL]\n",
        "",
    )
    code, out, err = paged
    (line,) = out.splitlines()
    event = json.loads(line)
    assert (code, err) == (0, "")
    assert {k: event[k] for k in ("v", "seq", "type", "booking_id", "notice")} == {
        "v": 1,
        "seq": 2,
        "type": "notice.sent",
        "booking_id": 8,
        "notice": None,
    }
    assert event["id"].startswith("evt_") and event["timestamp"] == "2026-12-02T10:00:00Z"
    assert event["delivery"]["last_error"] == "answered 410"
    assert failed[1].splitlines()[0].startswith("     2 ")
    assert again == (0, "1 event(s) queued for the webhook again\n", "")
    assert none_failed == (0, "no events failed after 0\n", "")
    assert bare[0] == 2 and "--redeliver needs the seqs of events" in bare[2]
    assert with_webhook[1].endswith("booking.moved      booking 8  [pending]\n")


async def test_events_follow_prints_what_commits_next(db_url: str, sessions: Sessions) -> None:
    process = await asyncio.create_subprocess_exec(
        CLI,
        "events",
        "--follow",
        "--json",
        env=cli_env(DATABASE_URL=db_url),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        await asyncio.sleep(1)
        await _write(sessions, EventType.USER_UNREACHABLE, 9)
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 20)
    finally:
        process.terminate()
        await process.wait()

    assert json.loads(line)["type"] == "user.unreachable"
