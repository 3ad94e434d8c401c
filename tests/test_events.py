"""Events as rows: each change writes its event in its own transaction, and booking code reads
them in commit order. On the time-skipping server with the real worker, SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from booking_notifications.api import EventView, InvalidBooking
from booking_notifications.testing.fake_telegram import FakeTelegram
from tests.support.bookings import booking
from tests.support.stack import booking_stack, telegram_channel

H = timedelta(hours=1)
BOT = "booking_test_bot"
BLOCKED = 7_700_000_666
TITLE = "Court 3 (Ms Ivanova)"
"""A title with personal data: it must never appear in an event."""


def _by_type(events: list[EventView], booking_id: int | None = None) -> dict[str, list[EventView]]:
    found: dict[str, list[EventView]] = {}
    for event in events:
        if booking_id is None or event.booking_id == booking_id:
            found.setdefault(event.type, []).append(event)
    return found


async def test_every_change_writes_its_event_with_ids_kinds_and_times_only(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str
) -> None:
    telegram = FakeTelegram(per_chat_rate=None, global_rate=None, blocked=[BLOCKED])
    now = await time_env.get_current_time()
    async with (
        telegram,
        booking_stack(time_env, db_url, task_queue, telegram_channel(telegram)) as s,
    ):
        notifier = s.notifier
        notifier.people.bot_username = BOT
        link = await notifier.people.link("customer-1")
        await notifier.people.connect(
            link.rsplit("=", 1)[1], chat_id=7_700_000_501, telegram_user_id=7_700_000_501
        )
        # Made 2 h ahead: its 24 h reminder is skipped at once, the rest are sent.
        kept = await notifier.schedule(
            booking(2 * H, now=now, chat_id=None, user_ref="customer-1", ref="b-kept", title=TITLE)
        )
        await notifier.people.confirm(kept)
        failed = await notifier.schedule(booking(2 * H, now=now, chat_id=BLOCKED, ref="b-failed"))
        moved = await notifier.schedule(
            booking(30 * H, now=now, chat_id=7_700_000_502, ref="b-moved")
        )
        new_start = now + 40 * H
        await notifier.reschedule(moved, new_start, new_start + H)
        await notifier.cancel(moved, reason="rain")
        by_user = await notifier.schedule(booking(30 * H, now=now, chat_id=7_700_000_503))
        await notifier.cancel(by_user, by="user")
        for booking_id in (kept, failed, moved, by_user):
            await s.result(booking_id)
        events = await notifier.events(after=0, limit=1000)

    assert [e.seq for e in events] == sorted({e.seq for e in events})  # commit order, no repeats
    connected = _by_type(events)["user.connected"]
    assert [(e.user_ref, e.booking_id) for e in connected] == [("customer-1", None)]

    kept_events = _by_type(events, kept)
    assert [(e.notice, e.data) for e in kept_events["notice.skipped"]] == [
        (
            "reminder_24h",
            {"kind": "reminder", "reason": kept_events["notice.skipped"][0].data["reason"]},
        )
    ]
    assert " late" in kept_events["notice.skipped"][0].data["reason"]
    assert [e.notice for e in kept_events["notice.sent"]] == ["reminder_1h", "start", "end"]
    assert len(kept_events["booking.confirmed"]) == 1
    assert {(e.booking_ref, e.user_ref) for e in events if e.booking_id == kept} == {
        ("b-kept", "customer-1")
    }

    failed_events = _by_type(events, failed)
    assert [e.notice for e in failed_events["notice.failed"]] == ["reminder_1h"]
    assert "blocked" in failed_events["notice.failed"][0].data["reason"]
    assert [e.notice for e in failed_events["user.unreachable"]] == ["reminder_1h"]
    assert [e.notice for e in failed_events["notice.skipped"]] == ["reminder_24h", "start", "end"]

    moved_events = _by_type(events, moved)
    assert [e.data for e in moved_events["booking.moved"]] == [
        {
            "starts_at": new_start.isoformat().replace("+00:00", "Z"),
            "ends_at": (new_start + H).isoformat().replace("+00:00", "Z"),
        }
    ]
    assert [e.data for e in moved_events["booking.cancelled"]] == [
        {"by": "service", "reason": "rain"}
    ]
    assert moved_events["booking.moved"][0].seq < moved_events["booking.cancelled"][0].seq
    assert [e.data for e in _by_type(events, by_user)["booking.cancelled"]] == [
        {"by": "user", "reason": None}
    ]

    for event in events:
        assert event.id.startswith("evt_") and event.payload["v"] == 1
        text = json.dumps(event.payload)
        for secret in (TITLE, "Ivanova", "7700000501", "7700000502", "7700000503", str(BLOCKED)):
            assert secret not in text, (secret, event.payload)


async def test_an_event_exists_exactly_when_its_change_committed(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    """A cancel inside booking code's transaction: its event commits with it, or not at all."""
    now = await time_env.get_current_time()
    async with booking_stack(time_env, db_url, task_queue, telegram_channel(telegram)) as s:
        rolled_back = await s.notifier.schedule(booking(30 * H, now=now, chat_id=601))
        committed = await s.notifier.schedule(booking(30 * H, now=now, chat_id=602))
        async with s.sessions() as session:
            await s.notifier.cancel(rolled_back, reason="never", session=session)
            await session.rollback()
        async with s.sessions() as session:
            await s.notifier.cancel(committed, reason="kept", session=session)
            before_commit = await s.notifier.events(after=0, limit=1000)
            await session.commit()
        after_commit = await s.notifier.events(after=0, limit=1000)
        status = await s.notifier.status(rolled_back)

    assert status.cancelled_at is None
    assert [e.type for e in before_commit] == []
    # The cancellation notice may be sent (notice.sent) by the time the events are read.
    assert [(e.type, e.booking_id) for e in after_commit if e.type.startswith("booking.")] == [
        ("booking.cancelled", committed)
    ]
    assert [e for e in after_commit if e.booking_id == rolled_back] == []


async def test_paging_asks_for_a_cursor_and_a_limit_in_range(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    async with booking_stack(time_env, db_url, task_queue, telegram_channel(telegram)) as s:
        problems = []
        for after, limit in ((-1, 10), (0, 0), (0, 1001), ("5", 10), (True, 10)):
            with pytest.raises(InvalidBooking) as refused:
                await s.notifier.events(after=after, limit=limit)  # type: ignore[arg-type]
            problems.append(str(refused.value))

    assert problems == [
        "after must be a seq (an integer >= 0), not -1",
        "limit must be 1 to 1000, not 0",
        "limit must be 1 to 1000, not 1001",
        "after must be a seq (an integer >= 0), not '5'",
        "after must be a seq (an integer >= 0), not True",
    ]
