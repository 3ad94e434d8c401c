"""The booking workflow's timing rules, on the time-skipping test server: days pass in moments.

The real worker and activities run against SQLite, and aiogram sends over HTTP to the fake Bot API.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from booking_notifications.api import BookingNotifier, CancelResult
from booking_notifications.core.domain import NoticeStatus
from booking_notifications.testing.fake_telegram import FakeTelegram
from tests.support.bookings import PLAN, booking
from tests.support.stack import Stack, booking_stack, frozen_stack, telegram_channel
from tests.support.waiting import eventually

pytestmark = pytest.mark.backends("sqlite")

SENT, SKIPPED, CANCELLED = NoticeStatus.SENT, NoticeStatus.SKIPPED, NoticeStatus.CANCELLED
H = timedelta(hours=1)


async def _sent(telegram: FakeTelegram) -> bool:
    return bool(telegram.sent)


async def test_a_booking_two_days_ahead_gets_every_notice_in_order(
    time_stack: Stack, telegram: FakeTelegram
) -> None:
    s = time_stack
    booking_id, _ = await s.book(48 * H, 2 * H, title="Court 3")
    report = await s.result(booking_id)

    assert await s.statuses(booking_id) == dict.fromkeys(PLAN, SENT)
    texts = [r.text or "" for r in telegram.sent]
    assert len(texts) == 4
    assert "starts in 1 day" in texts[0] and "Court 3" in texts[0]
    assert "starts in 1 hour" in texts[1]
    assert "starts now" in texts[2]
    assert "has ended" in texts[3]
    assert report.cancelled is False


async def test_a_booking_made_3_hours_ahead_gets_no_24h_reminder(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    async with frozen_stack(time_env, db_url, task_queue, telegram) as (s, now):
        booking_id = await s.notifier.schedule(booking(3 * H, now=now))
        await s.result(booking_id)
        rows = await s.rows(booking_id)

    assert rows["reminder_24h"].status is SKIPPED
    assert "too late when planned" in (rows["reminder_24h"].last_error or "")
    assert rows["reminder_1h"].status is SENT
    assert len(telegram.sent) == 3


async def test_a_reminder_due_a_moment_ago_is_sent_at_once_not_skipped(
    time_stack: Stack, telegram: FakeTelegram
) -> None:
    """59 minutes ahead: the 1 h reminder is a minute late, within its 15 min tolerance."""
    s = time_stack
    booking_id, now = await s.book(59 * timedelta(minutes=1))
    await eventually(lambda: _sent(telegram))  # in real time: nothing skips Temporal's clock
    sent_by = await s.env.get_current_time()
    await s.result(booking_id)
    rows = await s.rows(booking_id)
    assert rows["reminder_1h"].status is SENT
    assert rows["reminder_1h"].sent_at is not None
    assert sent_by - now < timedelta(minutes=1)  # at once, not held until a later moment
    assert (telegram.sent[0].text or "").startswith("⏰")


async def test_a_cancel_drops_pending_notices_and_announces_once(
    time_env: WorkflowEnvironment, time_stack: Stack, telegram: FakeTelegram
) -> None:
    s = time_stack
    booking_id, _ = await s.book(30 * H)
    await time_env.sleep(7 * H)  # the 24 h reminder is sent at +6 h
    assert await s.notifier.cancel(booking_id, reason="court <closed>") is CancelResult.CANCELLED
    assert await s.notifier.cancel(booking_id) is CancelResult.ALREADY_CANCELLED  # idempotent
    report = await s.result(booking_id)
    statuses = await s.statuses(booking_id)

    assert statuses == {
        "reminder_24h": SENT,
        "reminder_1h": CANCELLED,
        "start": CANCELLED,
        "end": CANCELLED,
        "cancel": SENT,
    }
    texts = [r.text or "" for r in telegram.sent]
    assert len(texts) == 2
    assert "cancelled" in texts[1] and "court &lt;closed&gt;" in texts[1]
    assert report.cancelled is True


async def test_a_cancel_after_the_booking_ended_changes_nothing(
    time_env: WorkflowEnvironment, time_stack: Stack, telegram: FakeTelegram
) -> None:
    s = time_stack
    booking_id, _ = await s.book(2 * H, reminders=[])
    await s.result(booking_id)
    before = await s.statuses(booking_id)
    await time_env.sleep(H)  # the workflow is closed; the booking is over
    cancelled = await s.notifier.cancel(booking_id)
    view = await s.notifier.status(booking_id)

    assert cancelled is CancelResult.OVER
    assert view.cancelled_at is None
    assert before == {"start": SENT, "end": SENT}
    assert len(telegram.sent) == 2


async def test_a_send_failing_past_its_deadline_is_failed_with_the_reason(
    time_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    """Telegram answers 5xx for good: retried with backoff until latest + DELIVERY_RETRY_FOR."""
    now = await time_env.get_current_time()
    telegram.fail_for(3600)
    async with booking_stack(time_env, db_url, task_queue, telegram_channel(telegram)) as s:
        notifier = BookingNotifier(
            time_env.client,
            s.sessions,
            task_queue,
            id_prefix=s.notifier.workflow_id(0)[:-1],
            retry_for=timedelta(minutes=1),
        )
        booking_id = await notifier.schedule(
            booking(2 * H, H, now=now, reminders=[], end_notice=False)
        )
        await s.result(booking_id)
        row = (await s.rows(booking_id))["start"]

    assert row.status is NoticeStatus.FAILED
    assert "gave up" in (row.last_error or "")
    assert telegram.count(502) == row.attempts  # one request per attempt, each one a 502
    assert row.attempts >= 5  # retried with backoff, not once
    assert telegram.sent == []
