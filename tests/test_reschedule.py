"""Moving a booking, on the time-skipping server: notices follow, the user is told, bad moves
are refused and change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from booking_notifications.api.requests import InvalidBooking
from booking_notifications.core.domain import NoticeStatus
from booking_notifications.testing.fake_telegram import FakeTelegram
from tests.support.bookings import booking
from tests.support.stack import Stack, booking_stack, telegram_channel

pytestmark = pytest.mark.backends("sqlite")

SENT, SKIPPED, PENDING = NoticeStatus.SENT, NoticeStatus.SKIPPED, NoticeStatus.PENDING
H = timedelta(hours=1)


async def test_a_move_later_re_arms_a_sent_reminder_and_tells_the_user_at_once(
    time_env: WorkflowEnvironment, time_stack: Stack, telegram: FakeTelegram
) -> None:
    s = time_stack
    booking_id, now = await s.book(30 * H, title="Court")
    await time_env.sleep(7 * H)  # the 24 h reminder went out at +6 h
    new_start = now + 50 * H
    report = await s.notifier.reschedule(booking_id, new_start, new_start + 2 * H)
    moved_text = telegram.sent[-1].text or ""
    await s.result(booking_id)
    rows = await s.rows(booking_id)
    view = await s.notifier.status(booking_id)

    assert {n.key: n.status for n in report.notices}["moved_1"] is SENT
    assert "has moved" in moved_text
    assert {k: r.status for k, r in rows.items()} == {
        "reminder_24h": SENT,  # the record of what was sent before the move
        "reminder_24h.1": SENT,  # re-armed for the new time
        "reminder_1h": SENT,
        "start": SENT,
        "end": SENT,
        "moved_1": SENT,
    }
    assert rows["reminder_24h.1"].due_at == new_start - 24 * H
    assert rows["start"].due_at == new_start and rows["end"].due_at == new_start + 2 * H
    assert view.starts_at == new_start
    assert len(telegram.sent) == 6


async def test_a_move_earlier_skips_a_reminder_that_is_now_too_late(
    time_stack: Stack, telegram: FakeTelegram
) -> None:
    s = time_stack
    booking_id, now = await s.book(30 * H)
    await s.notifier.reschedule(booking_id, now + 3 * H, now + 4 * H)
    await s.result(booking_id)
    rows = await s.rows(booking_id)

    assert rows["reminder_24h"].status is SKIPPED
    assert "too late" in (rows["reminder_24h"].last_error or "")
    assert rows["reminder_1h"].status is SENT and rows["reminder_1h"].due_at == now + 2 * H
    texts = [r.text or "" for r in telegram.sent]
    assert len(texts) == 4 and "has moved" in texts[0]


@pytest.mark.parametrize(
    ("start_in", "length", "message"),
    [
        (10 * H, -H, "cannot move: ends_at .* is not after starts_at"),
        (-H, 3 * H, "cannot move: starts_at .* is in the past"),
    ],
)
async def test_a_bad_move_is_refused_and_changes_nothing(
    time_env: WorkflowEnvironment,
    db_url: str,
    task_queue: str,
    telegram: FakeTelegram,
    start_in: timedelta,
    length: timedelta,
    message: str,
) -> None:
    now = await time_env.get_current_time()
    async with booking_stack(time_env, db_url, task_queue, telegram_channel(telegram)) as s:
        booking_id = await s.notifier.schedule(booking(30 * H, now=now))
        before = await _plan(s, booking_id)
        with pytest.raises(InvalidBooking, match=message):
            await s.notifier.reschedule(booking_id, now + start_in, now + start_in + length)
        after = await _plan(s, booking_id)
        history = await s.handle(booking_id).fetch_history()
        await s.handle(booking_id).terminate()

    assert after == before
    assert not any(
        e.HasField("workflow_execution_update_accepted_event_attributes") for e in history.events
    )
    assert telegram.sent == []


async def test_a_cancelled_or_finished_booking_cannot_move(
    time_stack: Stack, telegram: FakeTelegram
) -> None:
    s = time_stack
    now = await s.env.get_current_time()
    cancelled = await s.notifier.schedule(booking(30 * H, now=now, chat_id=1))
    await s.notifier.cancel(cancelled)
    with pytest.raises(InvalidBooking, match=r"cancelled|over"):
        await s.notifier.reschedule(cancelled, now + 40 * H, now + 41 * H)
    await s.result(cancelled)

    finished = await s.notifier.schedule(booking(2 * H, now=now, chat_id=2, reminders=[]))
    await s.result(finished)
    with pytest.raises(InvalidBooking, match="the booking is over"):
        await s.notifier.reschedule(finished, now + 40 * H, now + 41 * H)
    rows = await s.rows(finished)

    assert "moved_1" not in rows
    assert not any("has moved" in (r.text or "") for r in telegram.sent)


async def _plan(stack: Stack, booking_id: int) -> list[tuple[str, object, object]]:
    report = await stack.notifier.live_plan(booking_id)
    return [(n.key, n.due_at, n.status) for n in report.notices]
